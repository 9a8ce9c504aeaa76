"""The Settings page as a response: its own handlers render it, and so does the billing details form when
it was sent from Settings and is refused (the form lives on both pages)."""

from typing import Any

from fastapi import Request, Response
from sqlalchemy.orm import Session

from api.dashboard.auth import Viewer
from api.dashboard.rendering import page
from common.durations import in_words
from domain.reminders import MAX_REMINDERS, reminder_choices
from services.organization import settings_overview

FAILURES_PER_PAGE = 20
DETAIL_LABELS = {
    "billing_contact_name": "billing contact name",
    "billing_contact_email": "billing contact email",
    "billing_address": "billing address",
}


def settings_page(
    request: Request, session: Session, viewer: Viewer, status: int = 200, after: str = "", **context: Any
) -> Response:
    lifetime = request.app.state.settings.application_lifetime_seconds
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
        reminder_choices=reminder_choices(lifetime),
        max_reminders=MAX_REMINDERS,
        link_lifetime=in_words(lifetime),
        **context,
    )
