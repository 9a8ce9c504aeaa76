"""The organization's own settings: who pays by default, and where bills go."""

from pydantic import EmailStr, Field
from sqlalchemy.orm import Session

from common.schemas import Address, Strict
from db.models import Organization
from domain.errors import invalid
from services.tenancy import Tenant


class OrganizationSettings(Strict):
    withhold_premium: bool | None = None
    billing_contact_name: str | None = Field(None, max_length=200)
    billing_contact_email: EmailStr | None = None
    billing_address: Address | None = None


def update_settings(session: Session, tenant: Tenant, body: OrganizationSettings) -> Organization:
    """The organization's defaults: who pays (``withhold_premium``) and where bills go."""
    org = session.get(Organization, tenant.organization_id)
    assert org is not None
    for field, value in body.model_dump(mode="json", exclude_unset=True).items():
        if field == "withhold_premium" and value is None:
            raise invalid("withhold_premium: must be true or false", "withhold_premium")
        setattr(org, field, value)
    session.commit()
    return org
