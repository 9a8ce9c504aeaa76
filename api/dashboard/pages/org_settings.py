"""Settings: withhold premium (remit on the contractors' behalf) in the environment on view, which needs
the organization's billing details first (services.organization, as PUT /organization); the CreatorIQ key
(checked with CreatorIQ when saved, then shown only as its last 4, as PUT /organization/creatoriq), the sync
status, the creators that failed to sync with their reasons, and "sync now" (POST /creatoriq/syncs). Admins
change; everyone else reads."""

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.dashboard.auth import Admin, CurrentViewer, Viewer
from api.dashboard.paging import page_after
from api.dashboard.rendering import form_model, page, redirect
from api.deps import AppSettings, DbSession, Workflows
from api.errors import STATUS_OF
from db.models import CreatorIQCreator, Organization
from domain.errors import DomainError
from services import audit, creatoriq
from services.creatoriq import ConnectionIn, connection_of
from services.lookups import Page, list_page, scoped
from services.organization import OrganizationSettings, missing_billing_details, update_settings

router = APIRouter()
FAILURES_PER_PAGE = 20
DETAIL_LABELS = {
    "billing_contact_name": "billing contact name",
    "billing_contact_email": "billing contact email",
    "billing_address": "billing address",
}


def sync_status(session: Session, viewer: Viewer) -> dict[str, Any]:
    """How many creators each sync outcome holds, and when a creator was last synced (indexed by tenant)."""
    tenant = viewer.tenant
    rows = session.execute(
        select(CreatorIQCreator.status, func.count(), func.max(CreatorIQCreator.last_synced_at))
        .where(
            CreatorIQCreator.organization_id == tenant.organization_id,
            CreatorIQCreator.environment == tenant.environment,
            CreatorIQCreator.deleted_at.is_(None),
        )
        .group_by(CreatorIQCreator.status)
    ).all()
    counts = {status: count for status, count, _ in rows}
    last = max((at for *_, at in rows if at), default=None)
    return {"counts": {s: counts.get(s, 0) for s in ("synced", "failed", "skipped")}, "last_synced_at": last}


def settings_page_response(
    request: Request,
    session: Session,
    viewer: Viewer,
    status_code: int = 200,
    after: str = "",
    **context: Any,
) -> Response:
    tenant = viewer.tenant
    org = session.get(Organization, tenant.organization_id)
    assert org is not None
    connection = connection_of(session, tenant.organization_id, tenant.environment)
    failures, older_failures = page_after(
        lambda limit: list_page(
            session,
            scoped(CreatorIQCreator, tenant).where(CreatorIQCreator.status == "failed"),
            CreatorIQCreator,
            Page(limit=limit, starting_after=after or None),
        ),
        FAILURES_PER_PAGE,
    )
    return page(
        request,
        "settings.html",
        status_code,
        org=org,
        withheld=org.withholds_premium(tenant.environment),
        missing=[DETAIL_LABELS[f] for f in missing_billing_details(org)],
        connection=connection,
        status=sync_status(session, viewer) if connection else None,
        failures=failures,
        older_failures=older_failures,
        details_from="settings",
        **context,
    )


@router.get("/settings", response_class=HTMLResponse)
def settings_page(request: Request, session: DbSession, viewer: CurrentViewer, after: str = "") -> Response:
    return settings_page_response(request, session, viewer, after=after.strip())


@router.post("/settings/withhold-premium")
def withhold_premium(
    request: Request,
    session: DbSession,
    viewer: Admin,
    withhold_premium: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """On: your organization is billed for every contractor's premium (no card is asked for)."""
    wanted = withhold_premium == "true"
    try:
        update_settings(
            session,
            viewer.tenant,
            form_model(OrganizationSettings, withhold_premium=wanted),
            from_dashboard=True,
        )
    except DomainError as error:
        session.rollback()
        return settings_page_response(request, session, viewer, STATUS_OF[error.kind], error=error.message)
    viewer.audit(
        session,
        "organization.withhold_premium_changed",
        viewer.tenant.organization_id,
        withhold_premium=wanted,
    )
    session.commit()
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
    tenant = viewer.tenant
    existing = connection_of(session, tenant.organization_id, tenant.environment)
    kept: dict[str, Any] = {}
    if existing is not None:
        kept = {
            "category_code": existing.category_code,
            "coverage_type": existing.coverage_type,
            "success_url": existing.success_url,
            "cancel_url": existing.cancel_url,
        }
    try:
        body = form_model(ConnectionIn, api_key=api_key, **kept)
        connection = creatoriq.save_connection(session, tenant, body, settings)
    except DomainError as error:
        session.rollback()
        return settings_page_response(
            request, session, viewer, STATUS_OF[error.kind], error=error.message, editing=True
        )
    audit.record(
        session,
        tenant.organization_id,
        viewer.actor,
        "creatoriq.key_saved",
        connection.id,
        api_key=connection.api_key_hint,
    )
    session.commit()
    return redirect("/dashboard/settings", "creatoriq_saved")


@router.post("/settings/creatoriq/subscribe")
def subscribe(request: Request, session: DbSession, settings: AppSettings, viewer: Admin) -> Response:
    """Ask CreatorIQ to send creator updates here (then the schedule stops polling)."""
    try:
        connection = creatoriq.subscribe_webhooks(session, viewer.tenant, settings)
    except DomainError as error:
        session.rollback()
        return settings_page_response(request, session, viewer, STATUS_OF[error.kind], error=error.message)
    viewer.audit(session, "creatoriq.webhooks_subscribed", connection.id)
    session.commit()
    return redirect("/dashboard/settings", "saved")


@router.post("/settings/creatoriq/sync")
def sync_now(
    request: Request, session: DbSession, settings: AppSettings, workflows: Workflows, viewer: Admin
) -> Response:
    """Every Accepted creator of every running campaign, as POST /creatoriq/syncs without a filter."""
    try:
        creatoriq.sync_now(session, viewer.tenant, settings, workflows, "dashboard", viewer.actor)
    except DomainError as error:
        session.rollback()
        return settings_page_response(request, session, viewer, STATUS_OF[error.kind], error=error.message)
    return redirect("/dashboard/settings", "sync_started")
