from typing import Any

from fastapi import APIRouter
from pydantic import EmailStr, Field

from api.deps import CurrentTenant, DbSession
from api.errors import invalid_input
from api.schemas import Address, Strict
from db.models import Organization

router = APIRouter(prefix="/organization", tags=["organization"])


class OrganizationSettings(Strict):
    withhold_premium: bool | None = None
    billing_contact_name: str | None = Field(None, max_length=200)
    billing_contact_email: EmailStr | None = None
    billing_address: Address | None = None


def _render(org: Organization, environment: str) -> dict[str, Any]:
    return {
        "id": org.id,
        "object": "organization",
        "name": org.name,
        "environment": environment,
        "withhold_premium": org.withhold_premium,
        "billing_contact_name": org.billing_contact_name,
        "billing_contact_email": org.billing_contact_email,
        "billing_address": org.billing_address,
        "created": org.created,
    }


@router.get("")
def retrieve_organization(tenant: CurrentTenant) -> dict[str, Any]:
    return _render(tenant.organization, tenant.environment)


@router.put("")
def update_organization(
    body: OrganizationSettings, session: DbSession, tenant: CurrentTenant
) -> dict[str, Any]:
    """The organization's defaults: who pays (``withhold_premium``) and where bills go."""
    org = session.get(Organization, tenant.organization_id)
    assert org is not None
    for field, value in body.model_dump(mode="json", exclude_unset=True).items():
        if field == "withhold_premium" and value is None:
            raise invalid_input("withhold_premium: must be true or false")
        setattr(org, field, value)
    session.commit()
    return _render(org, tenant.environment)
