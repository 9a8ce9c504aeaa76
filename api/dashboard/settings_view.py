"""The Settings page as a response: its own handlers render it, and so does the billing details form when
it was sent from Settings and is refused (the form lives on both pages)."""

from typing import Any

from fastapi import Request, Response
from sqlalchemy.orm import Session

from api.dashboard.auth import Viewer
from api.dashboard.rendering import page
from domain.reminders import MAX_REMINDERS, REMINDER_DAYS
from services.organization import settings_overview

FAILURES_PER_PAGE = 20
DETAIL_LABELS = {
    "billing_contact_name": "billing contact name",
    "billing_contact_email": "billing contact email",
    "billing_address": "billing address",
}


def _duration(seconds: int) -> str:
    """How long an application link works, as staff say it: "3 days", "36 hours", "10 minutes"."""
    for unit, size in (("day", 86_400), ("hour", 3600), ("minute", 60)):
        if (seconds >= size and seconds % size == 0) or unit == "minute":
            count = max(1, seconds // size)
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return ""


def settings_page(
    request: Request, session: Session, viewer: Viewer, status: int = 200, after: str = "", **context: Any
) -> Response:
    shown = settings_overview(session, viewer.tenant, after or None, FAILURES_PER_PAGE)
    return page(
        request,
        "settings.html",
        status,
        org=shown.organization,
        withheld=shown.withheld,
        missing=[DETAIL_LABELS[f] for f in shown.missing],
        connection=shown.connection,
        status=shown.sync,
        failures=shown.failures.rows,
        older_failures=shown.failures.older,
        details_from="settings",
        reminder_days=shown.organization.reminder_days(viewer.tenant.environment),
        reminder_choices=list(REMINDER_DAYS),
        max_reminders=MAX_REMINDERS,
        link_lifetime=_duration(request.app.state.settings.application_lifetime_seconds),
        **context,
    )
