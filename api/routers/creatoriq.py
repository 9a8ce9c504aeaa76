"""CreatorIQ: the organization's connection (its API key, never shown in full), on-demand syncs, the
webhook subscription, and what each synced creator became (or why it could not be synced)."""

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import AnyHttpUrl, Field
from sqlalchemy import select
from sqlalchemy.orm import Session
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy

from api import workflow_calls
from api.deps import CurrentTenant, DbSession, Tenant
from api.errors import ApiError, invalid_input
from api.queries import PageParams, deleted_body, filtered, get_owned, list_page, now, scoped
from api.routers.category_codes import approved_category
from api.schemas import Strict
from common import representations as render
from common.ids import new_id
from common.settings import Settings
from common.temporal import ORGANIZATION_ID
from db.models import ApplicationSession, CreatorIQConnection, CreatorIQCreator, JobCategory
from db.organizations import connection_of
from domain.coverage import CoverageType
from integrations.creatoriq.client import (
    CreatorIQClient,
    CreatorIQError,
    CreatorIQKeyRefused,
    CreatorIQUnavailable,
)
from workflows.creatoriq_messages import CREATORIQ_SCAN_WORKFLOW, ScanRequest

router = APIRouter(tags=["creatoriq"])
MAX_ID = 2**31 - 1  # CreatorIQ ids are integers; ours are 32-bit columns
DEFAULT_CATEGORY = "influencer"
DEFAULT_COVERAGE = [CoverageType.GENERAL.value, CoverageType.WORKERS_COMP.value]
# The CreatorIQ webhook events that can change what a creator syncs to.
SUBSCRIBED_EVENTS = (("Publisher", "update"), ("Publisher", "campaign.added"))


class ConnectionIn(Strict):
    api_key: str = Field(
        min_length=8, max_length=500, pattern=r"^[!-~]+$", description="Your CreatorIQ API key."
    )
    category_code: str | None = Field(
        None, description="Job category of synced jobs (id or code); default: influencer."
    )
    coverage_type: list[CoverageType] | None = Field(None, description="Default: general and workers-comp.")
    success_url: AnyHttpUrl | None = Field(None, description="Where a finished application redirects.")
    cancel_url: AnyHttpUrl | None = None


class SyncIn(Strict):
    campaign_id: int | None = Field(None, ge=1, le=MAX_ID, description="Only this campaign.")
    publisher_id: int | None = Field(None, ge=1, le=MAX_ID, description="Only this creator.")


def hint(api_key: str) -> str:
    return f"…{api_key[-4:]}"


def get_connection(session: Session, tenant: Tenant) -> CreatorIQConnection:
    connection = connection_of(session, tenant.organization_id, tenant.environment)
    if connection is None:
        raise ApiError(
            404, "creatoriq_not_configured", "No CreatorIQ API key is set: PUT /organization/creatoriq first"
        )
    return connection


def _check_key(settings: Settings, api_key: str) -> None:
    """One cheap read proves the key works before it is saved."""
    try:
        with CreatorIQClient.configured(settings, api_key, attempts=2) as client:
            next(client.campaigns(), None)
    except CreatorIQKeyRefused:
        raise ApiError(400, "invalid_creatoriq_api_key", "CreatorIQ refused this API key") from None
    except (CreatorIQUnavailable, CreatorIQError) as error:
        raise ApiError(502, "creatoriq_unavailable", f"CreatorIQ could not check the key: {error}") from None


def _category_id(session: Session, tenant: Tenant, code_or_id: str | None) -> str:
    wanted = code_or_id or DEFAULT_CATEGORY
    category = session.get(JobCategory, wanted) or session.scalar(
        select(JobCategory).where(JobCategory.code == wanted)
    )
    if category is None:
        raise invalid_input(f"category_code: no such job category '{wanted}'")
    return approved_category(session, tenant, category.id).id


@router.put("/organization/creatoriq")
def save_connection(
    body: ConnectionIn, request: Request, session: DbSession, tenant: CurrentTenant
) -> dict[str, Any]:
    """Store the CreatorIQ API key (checked with CreatorIQ first). The key is never returned or logged."""
    settings: Settings = request.app.state.settings
    category_id = _category_id(session, tenant, body.category_code)
    _check_key(settings, body.api_key)
    connection = connection_of(session, tenant.organization_id, tenant.environment)
    if connection is None:
        connection = CreatorIQConnection(
            id=new_id("creatoriq_connection"),
            organization_id=tenant.organization_id,
            environment=tenant.environment,
            created=now(),
            webhooks_subscribed=False,
        )
        session.add(connection)
    connection.api_key, connection.api_key_hint = body.api_key, hint(body.api_key)
    connection.category_code = category_id
    connection.coverage_type = [c.value for c in body.coverage_type or []] or DEFAULT_COVERAGE
    connection.success_url = str(body.success_url) if body.success_url else None
    connection.cancel_url = str(body.cancel_url) if body.cancel_url else None
    session.commit()
    return render.creatoriq_connection(connection, settings.public_base_url)


@router.get("/organization/creatoriq")
def retrieve_connection(request: Request, session: DbSession, tenant: CurrentTenant) -> dict[str, Any]:
    return render.creatoriq_connection(
        get_connection(session, tenant), request.app.state.settings.public_base_url
    )


@router.delete("/organization/creatoriq")
def delete_connection(session: DbSession, tenant: CurrentTenant) -> dict[str, Any]:
    """Forget the key: no more syncs (what was synced stays)."""
    connection = get_connection(session, tenant)
    connection.deleted_at = now()
    connection.api_key = ""
    session.commit()
    return deleted_body(connection, "creatoriq_connection")


@router.post("/creatoriq/webhook_subscription")
def subscribe_webhooks(request: Request, session: DbSession, tenant: CurrentTenant) -> dict[str, Any]:
    """Ask CreatorIQ to send creator updates to our webhook URL (then the schedule stops polling)."""
    settings: Settings = request.app.state.settings
    connection = get_connection(session, tenant)
    callback = render.creatoriq_connection(connection, settings.public_base_url)["webhook_url"]
    try:
        with CreatorIQClient.configured(settings, connection.api_key) as client:
            existing = {
                (s.get("entityType"), s.get("actionType"), s.get("callback")) for s in client.subscriptions()
            }
            for entity_type, action_type in SUBSCRIBED_EVENTS:
                if (entity_type, action_type, callback) not in existing:
                    client.subscribe(entity_type, action_type, callback)
    except CreatorIQKeyRefused:
        raise ApiError(400, "invalid_creatoriq_api_key", "CreatorIQ refused the stored API key") from None
    except CreatorIQError as error:
        raise ApiError(502, "creatoriq_unavailable", f"CreatorIQ could not subscribe: {error}") from None
    connection.webhooks_subscribed = True
    session.commit()
    return render.creatoriq_connection(connection, settings.public_base_url)


async def start_scan(client: Client, settings: Settings, scan: ScanRequest, workflow_id: str) -> None:
    """Raises WorkflowAlreadyStartedError when a scan with this id ran already."""
    await client.start_workflow(
        CREATORIQ_SCAN_WORKFLOW,
        scan,
        id=workflow_id,
        task_queue=settings.task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        static_summary=f"CreatorIQ scan ({scan.trigger})",
        search_attributes=TypedSearchAttributes([SearchAttributePair(ORGANIZATION_ID, scan.organization_id)]),
    )


@router.post("/creatoriq/syncs", status_code=202)
def run_sync(body: SyncIn, request: Request, session: DbSession, tenant: CurrentTenant) -> dict[str, Any]:
    """Sync now: every Accepted creator of every running campaign, or only the campaign or creator given.
    The results appear at GET /creatoriq/creators."""
    get_connection(session, tenant)
    workflow_id = f"creatoriq-scan-{tenant.organization_id}-{tenant.environment}-api-{secrets.token_hex(8)}"
    scan = ScanRequest(
        organization_id=tenant.organization_id,
        environment=tenant.environment,
        trigger="api",
        campaign_id=body.campaign_id,
        publisher_id=body.publisher_id,
    )
    settings = request.app.state.settings
    try:
        workflow_calls.call(request, lambda client: start_scan(client, settings, scan, workflow_id), 10.0)
    except Exception:
        raise ApiError(503, "service_unavailable", "The sync could not be started; try again") from None
    return {
        "id": workflow_id,
        "object": "creatoriq_sync",
        "status": "started",
        "campaign_id": body.campaign_id,
        "publisher_id": body.publisher_id,
    }


def _render_creator(session: Session, request: Request, row: CreatorIQCreator) -> dict[str, Any]:
    application = session.scalar(
        select(ApplicationSession).where(ApplicationSession.id == row.application_session_id)
    )
    return render.creatoriq_creator(row, application, request.app.state.settings.public_base_url)


@router.get("/creatoriq/creators")
def list_creators(
    request: Request,
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
        _render_creator(session, request, row) for row in list_page(session, query, CreatorIQCreator, page)
    ]


@router.get("/creatoriq/creators/{creator_id}")
def retrieve_creator(
    creator_id: str, request: Request, session: DbSession, tenant: CurrentTenant
) -> dict[str, Any]:
    row = get_owned(
        session, CreatorIQCreator, tenant, creator_id, "invalid_creatoriq_creator_id", "creatoriq creator"
    )
    return _render_creator(session, request, row)
