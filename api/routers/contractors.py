from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import EmailStr, Field
from sqlalchemy import func
from sqlalchemy.orm import Session

from api.deps import CurrentTenant, DbSession, Tenant
from api.errors import ApiError
from api.event_log import record_event
from api.queries import PageParams, deleted_body, filtered, get_owned, list_page, now, scoped
from api.schemas import Address, Metadata, Strict, merge_metadata
from common import representations as render
from common.ids import new_id
from db.models import Contractor, Policy

router = APIRouter(prefix="/contractors", tags=["contractors"])

Name = Annotated[str, Field(min_length=1, max_length=100)]
Phone = Annotated[str, Field(min_length=7, max_length=40, pattern=r"^\+?[0-9 ().\-]{7,40}$")]
TaxId = Annotated[str, Field(pattern=r"^\d{2}-?\d{7}$|^\d{3}-?\d{2}-?\d{4}$", description="EIN or SSN")]


class ContractorIn(Strict):
    first_name: Name
    last_name: Name
    email: EmailStr
    phone: Phone
    address: Address
    middle_name: str | None = Field(None, max_length=100)
    company_name: str | None = Field(None, max_length=200)
    tax_identification: TaxId | None = None
    custom_metadata: Metadata = Field(default_factory=dict)
    withhold_premium: bool | None = None


class ContractorUpdate(Strict):
    first_name: Name | None = None
    last_name: Name | None = None
    email: EmailStr | None = None
    phone: Phone | None = None
    address: Address | None = None
    middle_name: str | None = Field(None, max_length=100)
    company_name: str | None = Field(None, max_length=200)
    tax_identification: TaxId | None = None
    custom_metadata: Metadata | None = None
    withhold_premium: bool | None = None


def get_contractor(session: Session, tenant: Tenant, contractor_id: str) -> Contractor:
    return get_owned(session, Contractor, tenant, contractor_id, "invalid_contractor_id", "contractor")


def _refuse_duplicate_email(session: Session, tenant: Tenant, email: str, except_id: str | None) -> None:
    query = scoped(Contractor, tenant).where(func.lower(Contractor.email) == email.lower())
    if except_id:
        query = query.where(Contractor.id != except_id)
    if session.scalar(query.limit(1)) is not None:
        raise ApiError(400, "duplicate_email", f"A contractor with email '{email}' already exists")


@router.post("", status_code=201)
def create_contractor(body: ContractorIn, session: DbSession, tenant: CurrentTenant) -> dict[str, Any]:
    _refuse_duplicate_email(session, tenant, body.email, None)
    fields = body.model_dump(mode="json")
    fields["custom_metadata"] = merge_metadata({}, fields["custom_metadata"])
    contractor = Contractor(
        id=new_id("contractor"),
        organization_id=tenant.organization_id,
        environment=tenant.environment,
        created=now(),
        **fields,
    )
    session.add(contractor)
    session.commit()
    return render.contractor(contractor)


@router.get("")
def list_contractors(
    session: DbSession, tenant: CurrentTenant, page: PageParams, email: str | None = None
) -> list[dict[str, Any]]:
    query = filtered(scoped(Contractor, tenant), {Contractor.email: email})
    return [render.contractor(c) for c in list_page(session, query, Contractor, page)]


@router.get("/{contractor_id}")
def retrieve_contractor(contractor_id: str, session: DbSession, tenant: CurrentTenant) -> dict[str, Any]:
    return render.contractor(get_contractor(session, tenant, contractor_id))


@router.put("/{contractor_id}")
def update_contractor(
    contractor_id: str, body: ContractorUpdate, session: DbSession, tenant: CurrentTenant
) -> dict[str, Any]:
    contractor = get_contractor(session, tenant, contractor_id)
    changes = body.model_dump(mode="json", exclude_unset=True)
    for required in ("first_name", "last_name", "email", "phone", "address"):
        if required in changes and changes[required] is None:
            raise ApiError(400, "invalid_input", f"{required}: cannot be removed")
    if "email" in changes:
        _refuse_duplicate_email(session, tenant, changes["email"], contractor.id)
    if "custom_metadata" in changes:
        changes["custom_metadata"] = merge_metadata(
            contractor.custom_metadata or {}, changes["custom_metadata"] or {}
        )
    for field, value in changes.items():
        setattr(contractor, field, value)
    session.commit()
    return render.contractor(contractor)


@router.delete("/{contractor_id}")
def delete_contractor(contractor_id: str, session: DbSession, tenant: CurrentTenant) -> dict[str, Any]:
    """Deleting a contractor also cancels their active policies (each with a ``policy.cancelled`` event)."""
    contractor = get_contractor(session, tenant, contractor_id)
    moment = now()
    for policy in session.scalars(
        scoped(Policy, tenant).where(Policy.contractor_id == contractor.id, Policy.status == "active")
    ):
        policy.status, policy.cancelled_at = "cancelled", moment
        record_event(session, tenant, "policy.cancelled", render.policy(policy))
    contractor.deleted_at = moment
    session.commit()
    return deleted_body(contractor, "contractor")


@router.get("/{contractor_id}/policies")
def list_contractor_policies(
    contractor_id: str, session: DbSession, tenant: CurrentTenant, page: PageParams
) -> list[dict[str, Any]]:
    contractor = get_contractor(session, tenant, contractor_id)
    query = scoped(Policy, tenant).where(Policy.contractor_id == contractor.id)
    return [render.policy(p) for p in list_page(session, query, Policy, page)]
