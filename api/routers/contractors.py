from typing import Any

from fastapi import APIRouter

from api.deps import CurrentTenant, DbSession
from api.paging import PageParams, deleted_body
from services import contractors, lookups
from services import representations as render
from services.contractors import ContractorIn, ContractorUpdate
from services.lookups import get_contractor

router = APIRouter(prefix="/contractors", tags=["contractors"])


@router.post("", status_code=201)
def create_contractor(body: ContractorIn, session: DbSession, tenant: CurrentTenant) -> dict[str, Any]:
    return render.contractor(contractors.create_contractor(session, tenant, body))


@router.get("")
def list_contractors(
    session: DbSession, tenant: CurrentTenant, page: PageParams, email: str | None = None
) -> list[dict[str, Any]]:
    return [render.contractor(c) for c in lookups.list_contractors(session, tenant, page, email)]


@router.get("/{contractor_id}")
def retrieve_contractor(contractor_id: str, session: DbSession, tenant: CurrentTenant) -> dict[str, Any]:
    return render.contractor(get_contractor(session, tenant, contractor_id))


@router.put("/{contractor_id}")
def update_contractor(
    contractor_id: str, body: ContractorUpdate, session: DbSession, tenant: CurrentTenant
) -> dict[str, Any]:
    return render.contractor(contractors.update_contractor(session, tenant, contractor_id, body))


@router.delete("/{contractor_id}")
def delete_contractor(contractor_id: str, session: DbSession, tenant: CurrentTenant) -> dict[str, Any]:
    """Deleting a contractor also cancels their active policies (each with a ``policy.cancelled`` event)."""
    return deleted_body(contractors.delete_contractor(session, tenant, contractor_id), "contractor")


@router.get("/{contractor_id}/policies")
def list_contractor_policies(
    contractor_id: str, session: DbSession, tenant: CurrentTenant, page: PageParams
) -> list[dict[str, Any]]:
    return [render.policy(p) for p in lookups.list_contractor_policies(session, tenant, page, contractor_id)]
