"""The organization's own settings: who pays by default, and where bills go."""

from pydantic import EmailStr, Field
from sqlalchemy.orm import Session

from common.schemas import Address, Strict
from db.models import Organization
from domain.errors import invalid
from services.tenancy import Tenant

# Seed 001: to remit on the contractors' behalf, "you'll need to add your billing details and contact
# information in the organization settings page so we know where to direct the payable invoice".
BILLING_DETAILS = ("billing_contact_name", "billing_contact_email", "billing_address")
BILLING_DETAILS_NEEDED = (
    "withhold_premium: add your billing details first (billing contact name, billing contact email and "
    "billing address): bills for the premiums you remit are sent there"
)


class OrganizationSettings(Strict):
    withhold_premium: bool | None = None
    billing_contact_name: str | None = Field(None, max_length=200)
    billing_contact_email: EmailStr | None = None
    billing_address: Address | None = None


def missing_billing_details(org: Organization) -> list[str]:
    return [field for field in BILLING_DETAILS if not getattr(org, field)]


def update_settings(session: Session, tenant: Tenant, body: OrganizationSettings) -> Organization:
    """The organization's defaults: who pays (``withhold_premium``) and where bills go. Withholding the
    premium (remitting it on the contractors' behalf) needs the billing details and contact first, and they
    cannot be removed while it is on."""
    org = session.get(Organization, tenant.organization_id)
    assert org is not None
    changes = body.model_dump(mode="json", exclude_unset=True)
    if "withhold_premium" in changes and changes["withhold_premium"] is None:
        raise invalid("withhold_premium: must be true or false", "withhold_premium")
    enabling = changes.get("withhold_premium") is True
    removing = any(field in changes and not changes[field] for field in BILLING_DETAILS)
    withholds = changes.get("withhold_premium", org.withhold_premium)
    complete = all(changes.get(field, getattr(org, field)) for field in BILLING_DETAILS)
    if withholds and not complete and (enabling or removing):
        raise invalid(BILLING_DETAILS_NEEDED, "withhold_premium")
    for field, value in changes.items():
        setattr(org, field, value)
    session.commit()
    return org
