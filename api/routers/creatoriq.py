"""CreatorIQ: the organization's connection (its API key, never shown in full), on-demand syncs, the
webhook subscription, and what each synced creator became (or why it could not be synced)."""

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import AppSettings, CurrentTenant, DbSession, Workflows
from api.errors import ApiError
from api.paging import PageParams, deleted_body
from common.schemas import Strict
from common.settings import Settings
from contracts.creatoriq import ScanRequest, scan_workflow_id
from db.models import ApplicationSession, CreatorIQCreator
from services import creatoriq
from services import representations as render
from services.creatoriq import MAX_ID, ConnectionIn, get_connection, start_scan
from services.lookups import filtered, get_owned, list_page, scoped

router = APIRouter(tags=["creatoriq"])


class SyncIn(Strict):
    campaign_id: int | None = Field(None, ge=1, le=MAX_ID, description="Only this campaign.")
    publisher_id: int | None = Field(None, ge=1, le=MAX_ID, description="Only this creator.")


@router.put("/organization/creatoriq")
def save_connection(
    body: ConnectionIn, settings: AppSettings, session: DbSession, tenant: CurrentTenant
) -> dict[str, Any]:
    """Store the CreatorIQ API key (checked with CreatorIQ first). The key is never returned or logged."""
    connection = creatoriq.save_connection(session, tenant, body, settings)
    return render.creatoriq_connection(connection, settings.public_base_url)


@router.get("/organization/creatoriq")
def retrieve_connection(settings: AppSettings, session: DbSession, tenant: CurrentTenant) -> dict[str, Any]:
    return render.creatoriq_connection(get_connection(session, tenant), settings.public_base_url)


@router.delete("/organization/creatoriq")
def delete_connection(session: DbSession, tenant: CurrentTenant) -> dict[str, Any]:
    """Forget the key: no more syncs (what was synced stays)."""
    return deleted_body(creatoriq.delete_connection(session, tenant), "creatoriq_connection")


@router.post("/creatoriq/webhook_subscription")
def subscribe_webhooks(settings: AppSettings, session: DbSession, tenant: CurrentTenant) -> dict[str, Any]:
    """Ask CreatorIQ to send creator updates to our webhook URL (then the schedule stops polling)."""
    connection = creatoriq.subscribe_webhooks(session, tenant, settings)
    return render.creatoriq_connection(connection, settings.public_base_url)


@router.post("/creatoriq/syncs", status_code=202)
def run_sync(
    body: SyncIn, settings: AppSettings, workflows: Workflows, session: DbSession, tenant: CurrentTenant
) -> dict[str, Any]:
    """Sync now: every Accepted creator of every running campaign, or only the campaign or creator given.
    The results appear at GET /creatoriq/creators."""
    get_connection(session, tenant)
    workflow_id = scan_workflow_id(tenant.organization_id, tenant.environment, "api", secrets.token_hex(8))
    scan = ScanRequest(
        organization_id=tenant.organization_id,
        environment=tenant.environment,
        trigger="api",
        campaign_id=body.campaign_id,
        publisher_id=body.publisher_id,
    )
    try:
        workflows.run(lambda client: start_scan(client, settings, scan, workflow_id), 10.0)
    except Exception:
        raise ApiError(503, "service_unavailable", "The sync could not be started; try again") from None
    return {
        "id": workflow_id,
        "object": "creatoriq_sync",
        "status": "started",
        "campaign_id": body.campaign_id,
        "publisher_id": body.publisher_id,
    }


def _render_creator(session: Session, settings: Settings, row: CreatorIQCreator) -> dict[str, Any]:
    application = session.scalar(
        select(ApplicationSession).where(ApplicationSession.id == row.application_session_id)
    )
    return render.creatoriq_creator(row, application, settings.public_base_url)


@router.get("/creatoriq/creators")
def list_creators(
    settings: AppSettings,
    session: DbSession,
    tenant: CurrentTenant,
    page: PageParams,
    status: str | None = None,
    campaign_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    publisher_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> list[dict[str, Any]]:
    """Every creator a sync looked at, newest first: ``synced`` (with its application link), ``failed``
    (with the reasons) or ``skipped``."""
    query = filtered(
        scoped(CreatorIQCreator, tenant),
        {
            CreatorIQCreator.status: status,
            CreatorIQCreator.campaign_id: campaign_id,
            CreatorIQCreator.publisher_id: publisher_id,
        },
    )
    return [
        _render_creator(session, settings, row) for row in list_page(session, query, CreatorIQCreator, page)
    ]


@router.get("/creatoriq/creators/{creator_id}")
def retrieve_creator(
    creator_id: str, settings: AppSettings, session: DbSession, tenant: CurrentTenant
) -> dict[str, Any]:
    row = get_owned(
        session, CreatorIQCreator, tenant, creator_id, "invalid_creatoriq_creator_id", "creatoriq creator"
    )
    return _render_creator(session, settings, row)
