from typing import TYPE_CHECKING, Any

from fastapi import APIRouter

from api.deps import AppSettings, CurrentTenant, DbSession
from services.organization import OrganizationSettings, update_settings

if TYPE_CHECKING:
    from db.models import Organization

router = APIRouter(prefix="/organization", tags=["organization"])


def _render(org: "Organization", environment: str) -> dict[str, Any]:
    """``withhold_premium`` and ``application_reminder_days`` are this environment's; the billing details
    are the whole organization's."""
    return {
        "id": org.id,
        "object": "organization",
        "name": org.name,
        "environment": environment,
        "withhold_premium": org.withholds_premium(environment),
        "application_reminder_days": org.reminder_days(environment),
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
    body: OrganizationSettings, session: DbSession, settings: AppSettings, tenant: CurrentTenant
) -> dict[str, Any]:
    """Who pays by default in this key's environment (``withhold_premium``), and where bills go: the
    billing contact and address are the whole organization's and change only with a production key (or in
    the dashboard); a sandbox key asking to change them gets 403 ``insufficient_permissions``. Reminder
    days that could never send (not fewer than an application's lifetime here) get 400 ``invalid_input``."""
    return _render(update_settings(session, tenant, body, settings), tenant.environment)
