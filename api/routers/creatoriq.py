"""CreatorIQ: the organization's connection (its API key, never shown in full), on-demand syncs, the
webhook subscription, and what each synced creator became (or why it could not be synced)."""

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Query
from pydantic import Field
from sqlalchemy.orm import Session

from api.deps import AppSettings, CurrentActor, CurrentTenant, DbSession, Workflows
from api.paging import PageParams, deleted_body
from common.schemas import Strict
from common.settings import Settings
from services import creatoriq, lookups
from services import representations as render
from services.creatoriq import MAX_ID, ConnectionIn, get_connection

if TYPE_CHECKING:
    from db.models import CreatorIQCreator

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
    body: SyncIn,
    settings: AppSettings,
    workflows: Workflows,
    session: DbSession,
    tenant: CurrentTenant,
    actor: CurrentActor,
) -> dict[str, Any]:
    """Sync now: every Accepted creator of every running campaign, or only the campaign or creator given.
    The results appear at GET /creatoriq/creators."""
    workflow_id = creatoriq.sync_now(
        session, tenant, settings, workflows, "api", actor, body.campaign_id, body.publisher_id
    )
    return {
        "id": workflow_id,
        "object": "creatoriq_sync",
        "status": "started",
        "campaign_id": body.campaign_id,
        "publisher_id": body.publisher_id,
    }


def _render_creator(session: Session, settings: Settings, row: "CreatorIQCreator") -> dict[str, Any]:
    application = lookups.application_of(session, row.application_session_id)
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
    rows = lookups.list_creatoriq_creators(session, tenant, page, status, campaign_id, publisher_id)
    return [_render_creator(session, settings, row) for row in rows]


@router.get("/creatoriq/creators/{creator_id}")
def retrieve_creator(
    creator_id: str, settings: AppSettings, session: DbSession, tenant: CurrentTenant
) -> dict[str, Any]:
    row = lookups.get_creatoriq_creator(session, tenant, creator_id)
    return _render_creator(session, settings, row)
