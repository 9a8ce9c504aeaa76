"""The organization's own settings: who pays by default and after how many days contractors with an
unfinished application are reminded (per environment), and where bills go (the whole organization's).

Which is which: ``withhold_premium`` is a setting of each environment, so a sandbox key can try the remit
and the card flows without changing who pays in production. The billing contact and address are the
organization's legal and billing identity (where real bills for production premiums are sent), one for the
whole organization: they change only with a production key or in the dashboard (its roles decide who), and a
sandbox key asking to change them is refused with 403 ``insufficient_permissions``, changing nothing."""

import time
from dataclasses import dataclass

from pydantic import EmailStr, Field
from sqlalchemy.orm import Session

from common.durations import in_words
from common.ids import new_id
from common.schemas import Address, Strict
from common.settings import Settings
from db.models import CreatorIQConnection, CreatorIQCreator, Organization
from domain.api_keys import PRODUCTION, SANDBOX
from domain.errors import forbidden, invalid
from domain.reminders import (
    MAX_REMINDERS,
    REMINDER_DAYS,
    REMINDER_DAYS_TOO_LATE,
    reminder_can_send,
    reminder_choices,
)
from services.api_keys import issue_key
from services.audit import Actor, record_change
from services.catalog import approve
from services.creatoriq import SyncStatus, connection_of, list_failed_creators, sync_status
from services.lookups import Listing
from services.tenancy import Tenant

# Seed 001: to remit on the contractors' behalf, "you'll need to add your billing details and contact
# information in the organization settings page so we know where to direct the payable invoice".
BILLING_DETAILS = ("billing_contact_name", "billing_contact_email", "billing_address")
ORGANIZATION_WIDE = BILLING_DETAILS  # the rest (withhold_premium, reminder days) is per environment
BILLING_DETAILS_NEEDED = (
    "withhold_premium: add your billing details first (billing contact name, billing contact email and "
    "billing address): bills for the premiums you remit are sent there"
)
SANDBOX_CANNOT_CHANGE = (
    "{fields}: the billing details belong to the whole organization and change only with a production "
    "API key or in the dashboard; a sandbox key changes only its own environment's settings "
    "(withhold_premium). Nothing was changed."
)


WIDE = "The whole organization's (both environments): changed only with a production key or in the dashboard."


class OrganizationSettings(Strict):
    withhold_premium: bool | None = Field(
        None, description="This key's environment's default payer (true: the organization is billed)."
    )
    billing_contact_name: str | None = Field(None, max_length=200, description=WIDE)
    billing_contact_email: EmailStr | None = Field(None, description=WIDE)
    billing_address: Address | None = Field(None, description=WIDE)
    application_reminder_days: int | None = Field(
        None,
        ge=REMINDER_DAYS.start,
        le=REMINDER_DAYS.stop - 1,
        description="This key's environment's: after how many days (1 to 30, and fewer than an application "
        "link's lifetime, GIGCOVER_APPLICATION_LIFETIME_SECONDS, 3 days by default) a contractor whose "
        "application is unfinished is emailed a reminder with its link, then again every as many days, "
        f"at most {MAX_REMINDERS} times, while it stays unfinished; null (the default): no reminders.",
    )


def missing_billing_details(org: Organization) -> list[str]:
    return [field for field in BILLING_DETAILS if not getattr(org, field)]


def get_organization(session: Session, tenant: Tenant) -> Organization:
    org = session.get(Organization, tenant.organization_id)
    assert org is not None
    return org


def _check_reminder_days(days: int | None, lifetime: int) -> None:
    """Refuse reminder days that could never send here (an application expires first)."""
    if days is None or reminder_can_send(days, lifetime):
        return
    choices = reminder_choices(lifetime)
    offered = f"1 to {choices[-1]}" if choices else "none can be sent with this application lifetime"
    raise invalid(
        REMINDER_DAYS_TOO_LATE.format(days=days, lifetime=in_words(lifetime), choices=offered),
        "application_reminder_days",
        rule="too_late",
        lifetime=in_words(lifetime),
        latest=choices[-1] if choices else None,
    )


def update_settings(
    session: Session,
    tenant: Tenant,
    body: OrganizationSettings,
    settings: Settings,
    *,
    actor: Actor | None = None,
) -> Organization:
    """Who pays by default in the tenant's environment (``withhold_premium``), and where bills go (the
    organization's, from production or the dashboard only: a member's change, ``actor`` given, is audited
    with it). Withholding the premium (remitting it on the contractors' behalf) needs the billing details
    first, and they cannot be removed while either environment withholds it. Reminder days must be able to
    send: fewer days than this deployment's application lifetime (``settings``)."""
    org = get_organization(session, tenant)
    changes = body.model_dump(mode="json", exclude_unset=True)
    _check_reminder_days(changes.get("application_reminder_days"), settings.application_lifetime_seconds)
    wide = [field for field in ORGANIZATION_WIDE if field in changes]
    if wide and tenant.environment != PRODUCTION and actor is None:
        raise forbidden(SANDBOX_CANNOT_CHANGE.format(fields=", ".join(wide)), wide[0])
    if "withhold_premium" in changes and changes["withhold_premium"] is None:
        raise invalid("withhold_premium: must be true or false", "withhold_premium")
    enabling = changes.get("withhold_premium") is True
    removing = any(field in changes and not changes[field] for field in BILLING_DETAILS)
    withheld_here = changes.get("withhold_premium", org.withholds_premium(tenant.environment))
    other = SANDBOX if tenant.environment == PRODUCTION else PRODUCTION
    complete = all(changes.get(field, getattr(org, field)) for field in BILLING_DETAILS)
    if not complete and (
        (enabling and withheld_here) or (removing and (withheld_here or org.withholds_premium(other)))
    ):
        missing = [f for f in BILLING_DETAILS if not changes.get(f, getattr(org, f))]
        raise invalid(BILLING_DETAILS_NEEDED, "withhold_premium", missing=missing, removing=not enabling)
    if "withhold_premium" in changes:
        withhold = changes.pop("withhold_premium")
        org.set_withhold_premium(tenant.environment, withhold)
        record_change(
            session, tenant, actor, "organization.withhold_premium_changed", org.id, withhold_premium=withhold
        )
    if "application_reminder_days" in changes:
        days = changes.pop("application_reminder_days")
        org.set_reminder_days(tenant.environment, days)
        record_change(
            session,
            tenant,
            actor,
            "organization.application_reminders_changed",
            org.id,
            application_reminder_days=days,
        )
    for field, value in changes.items():
        setattr(org, field, value)
    if changes:
        record_change(
            session,
            tenant,
            actor,
            "organization.billing_details_changed",
            org.id,
            organization_wide=True,
            billing_contact_email=changes.get("billing_contact_email"),
        )
    session.commit()
    return org


@dataclass(frozen=True)
class NewOrganization:
    organization: Organization
    sandbox_key: str
    production_key: str


def create_organization(
    session: Session,
    name: str,
    *,
    withhold_premium: bool = False,
    billing_contact_name: str | None = None,
    billing_contact_email: str | None = None,
    approve_categories: list[str] | None = None,
) -> NewOrganization:
    """Create an organization with one sandbox and one production key.

    ``approve_categories`` takes category ids or codes; ``["*"]`` approves the whole catalog.
    """
    now = int(time.time())
    org = Organization(
        id=new_id("organization"),
        name=name,
        withhold_premium=withhold_premium,
        sandbox_withhold_premium=withhold_premium,
        billing_contact_name=billing_contact_name,
        billing_contact_email=billing_contact_email,
        created=now,
    )
    session.add(org)
    session.flush()
    approve(session, org.id, approve_categories or [])
    sandbox = issue_key(session, org.id, SANDBOX, "Default sandbox key")
    production = issue_key(session, org.id, PRODUCTION, "Default production key")
    session.commit()
    return NewOrganization(org, sandbox, production)


@dataclass(frozen=True)
class SettingsOverview:
    """The Settings page: who pays in this environment, the billing details still missing, and the
    CreatorIQ connection with its sync status and the creators that failed to sync."""

    organization: Organization
    withheld: bool
    missing: list[str]
    connection: CreatorIQConnection | None
    sync: SyncStatus | None
    failures: Listing[CreatorIQCreator]


def settings_overview(session: Session, tenant: Tenant, after: str | None, per_page: int) -> SettingsOverview:
    org = get_organization(session, tenant)
    connection = connection_of(session, tenant.organization_id, tenant.environment)
    return SettingsOverview(
        organization=org,
        withheld=org.withholds_premium(tenant.environment),
        missing=missing_billing_details(org),
        connection=connection,
        sync=sync_status(session, tenant) if connection else None,
        failures=list_failed_creators(session, tenant, after, per_page),
    )
