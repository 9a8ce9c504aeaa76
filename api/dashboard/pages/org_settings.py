"""Settings: withhold premium (remit on the contractors' behalf) in the environment on view, which needs
the organization's billing details first, and after how many days contractors with an unfinished
application are reminded (services.organization, as PUT /organization); the CreatorIQ key
(checked with CreatorIQ when saved, then shown only as its last 4, as PUT /organization/creatoriq), the sync
status, the creators that failed to sync with their reasons, and "sync now" (POST /creatoriq/syncs). Admins
change; everyone else reads. Each change is audited by the service that makes it."""

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse

from api.dashboard.auth import Admin, CurrentViewer
from api.dashboard.rendering import form_model, redirect, refused
from api.dashboard.settings_view import settings_page
from api.deps import AppSettings, DbSession, Workflows
from domain.errors import DomainError, invalid
from domain.reminders import REMINDER_DAYS, REMINDER_DAYS_REFUSED
from services import creatoriq
from services.organization import OrganizationSettings, update_settings

router = APIRouter()


@router.get("/settings", response_class=HTMLResponse)
def show_settings(request: Request, session: DbSession, viewer: CurrentViewer, after: str = "") -> Response:
    return settings_page(request, session, viewer, after=after.strip())


@router.post("/settings/withhold-premium")
def withhold_premium(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    viewer: Admin,
    withhold_premium: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """On: your organization is billed for every contractor's premium (no card is asked for)."""
    try:
        body = form_model(OrganizationSettings, withhold_premium=withhold_premium == "true")
        update_settings(session, viewer.tenant, body, settings, actor=viewer.actor)
    except DomainError as error:
        return refused(session, error, partial(settings_page, request, session, viewer))
    return redirect("/dashboard/settings", "saved")


@router.post("/settings/reminders")
def application_reminders(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    viewer: Admin,
    days: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """After how many days contractors with an unfinished application are reminded in this environment;
    empty: never. The same setting as ``application_reminder_days`` of PUT /organization."""
    chosen = days.strip()
    try:
        if chosen and not (chosen.isdigit() and int(chosen) in REMINDER_DAYS):
            raise invalid(REMINDER_DAYS_REFUSED, "application_reminder_days")
        body = form_model(OrganizationSettings, application_reminder_days=int(chosen) if chosen else None)
        update_settings(session, viewer.tenant, body, settings, actor=viewer.actor)
    except DomainError as error:
        return refused(session, error, partial(settings_page, request, session, viewer))
    return redirect("/dashboard/settings", "saved")


@router.post("/settings/creatoriq")
def save_creatoriq_key(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    viewer: Admin,
    api_key: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """A new key keeps the connection's other choices (category, coverage, links) as they were."""
    try:
        creatoriq.replace_key(session, viewer.tenant, api_key, settings, viewer.actor)
    except DomainError as error:
        return refused(session, error, partial(settings_page, request, session, viewer), editing=True)
    return redirect("/dashboard/settings", "creatoriq_saved")


@router.post("/settings/creatoriq/subscribe")
def subscribe(request: Request, session: DbSession, settings: AppSettings, viewer: Admin) -> Response:
    """Ask CreatorIQ to send creator updates here (then the schedule stops polling)."""
    try:
        creatoriq.subscribe_webhooks(session, viewer.tenant, settings, viewer.actor)
    except DomainError as error:
        return refused(session, error, partial(settings_page, request, session, viewer))
    return redirect("/dashboard/settings", "saved")


@router.post("/settings/creatoriq/sync")
def sync_now(
    request: Request, session: DbSession, settings: AppSettings, workflows: Workflows, viewer: Admin
) -> Response:
    """Every Accepted creator of every running campaign, as POST /creatoriq/syncs without a filter."""
    try:
        creatoriq.sync_now(session, viewer.tenant, settings, workflows, "dashboard", viewer.actor)
    except DomainError as error:
        return refused(session, error, partial(settings_page, request, session, viewer))
    return redirect("/dashboard/settings", "sync_started")
