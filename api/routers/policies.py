from typing import Any

from fastapi import APIRouter

from api.deps import AppSettings, CurrentTenant, DbSession
from api.paging import PageParams, deleted_body
from services import lookups, policies
from services import representations as render
from services.lookups import get_policy
from services.policies import PolicyIn, PolicyUpdate

router = APIRouter(prefix="/policies", tags=["policies"])


@router.post("", status_code=201)
def create_policy(
    body: PolicyIn, settings: AppSettings, session: DbSession, tenant: CurrentTenant
) -> dict[str, Any]:
    return render.policy(policies.create_policy(session, tenant, body, settings))


@router.get("")
def list_policies(
    session: DbSession,
    tenant: CurrentTenant,
    page: PageParams,
    quote: str | None = None,
    contractor: str | None = None,
) -> list[dict[str, Any]]:
    return [render.policy(p) for p in lookups.list_policies(session, tenant, page, quote, contractor)]


@router.get("/{policy_id}")
def retrieve_policy(policy_id: str, session: DbSession, tenant: CurrentTenant) -> dict[str, Any]:
    return render.policy(get_policy(session, tenant, policy_id))


@router.put("/{policy_id}")
def update_policy(
    policy_id: str, body: PolicyUpdate, settings: AppSettings, session: DbSession, tenant: CurrentTenant
) -> dict[str, Any]:
    return render.policy(policies.update_policy(session, tenant, policy_id, body, settings))


@router.delete("/{policy_id}")
def delete_policy(policy_id: str, session: DbSession, tenant: CurrentTenant) -> dict[str, Any]:
    """Cancels the coverage and removes the policy."""
    return deleted_body(policies.delete_policy(session, tenant, policy_id), "policy")
