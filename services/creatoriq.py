"""The organization's CreatorIQ connection: its API key (checked, never shown in full), the webhook
subscription, and starting scans."""

import secrets
from dataclasses import dataclass
from typing import Any

from pydantic import AnyHttpUrl, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from common.schemas import Strict
from common.settings import Settings
from common.temporal import ORGANIZATION_ID
from common.validation import validated
from contracts.creatoriq import CREATORIQ_SCAN_WORKFLOW, ScanRequest, scan_workflow_id
from db.models import CreatorIQConnection, CreatorIQCreator, JobCategory
from domain.coverage import CoverageType
from domain.errors import DomainError, Refusal, invalid, unavailable
from domain.statuses import CreatorSyncStatus
from integrations.creatoriq.client import (
    CreatorIQClient,
    CreatorIQError,
    CreatorIQKeyRefused,
    CreatorIQUnavailable,
)
from services import audit
from services import representations as render
from services.audit import Actor, record_change
from services.catalog import approved_category
from services.lookups import Listing, newest_first, now, scoped
from services.tenancy import Tenant
from services.workflow_calls import WorkflowCalls

SYNC_OUTCOMES = (CreatorSyncStatus.SYNCED, CreatorSyncStatus.FAILED, CreatorSyncStatus.SKIPPED)


@dataclass(frozen=True)
class SyncStatus:
    counts: dict[CreatorSyncStatus, int]
    last_synced_at: int | None


MAX_ID = 2**31 - 1  # CreatorIQ ids are integers; ours are 32-bit columns
DEFAULT_CATEGORY = "influencer"
DEFAULT_COVERAGE = [CoverageType.GENERAL.value, CoverageType.WORKERS_COMP.value]
# The CreatorIQ webhook events that can change what a creator syncs to.
SUBSCRIBED_EVENTS = (("Publisher", "update"), ("Publisher", "campaign.added"))
START_TIMEOUT = 10.0  # seconds to start a scan before the caller is told to try again
SYNC_NOT_STARTED = "The sync could not be started; try again"


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


def hint(api_key: str) -> str:
    return f"…{api_key[-4:]}"


def _unreachable(message: str) -> DomainError:
    return DomainError("creatoriq_unavailable", message, kind=Refusal.UPSTREAM)


def connection_of(session: Session, organization_id: str, environment: str) -> CreatorIQConnection | None:
    return session.scalar(
        select(CreatorIQConnection).where(
            CreatorIQConnection.organization_id == organization_id,
            CreatorIQConnection.environment == environment,
            CreatorIQConnection.deleted_at.is_(None),
        )
    )


def get_connection(session: Session, tenant: Tenant) -> CreatorIQConnection:
    connection = connection_of(session, tenant.organization_id, tenant.environment)
    if connection is None:
        raise DomainError(
            "creatoriq_not_configured",
            "No CreatorIQ API key is set: PUT /organization/creatoriq first",
            kind=Refusal.NOT_FOUND,
        )
    return connection


def _check_key(settings: Settings, api_key: str) -> None:
    """One cheap read proves the key works before it is saved."""
    try:
        with CreatorIQClient.configured(settings, api_key, attempts=2) as client:
            next(client.campaigns(), None)
    except CreatorIQKeyRefused:
        raise invalid("CreatorIQ refused this API key", "api_key", "invalid_creatoriq_api_key") from None
    except (CreatorIQUnavailable, CreatorIQError) as error:
        raise _unreachable(f"CreatorIQ could not check the key: {error}") from None


def _category_id(session: Session, tenant: Tenant, code_or_id: str | None) -> str:
    wanted = code_or_id or DEFAULT_CATEGORY
    category = session.get(JobCategory, wanted) or session.scalar(
        select(JobCategory).where(JobCategory.code == wanted)
    )
    if category is None:
        raise invalid(f"category_code: no such job category '{wanted}'", "category_code")
    return approved_category(session, tenant, category.id).id


def save_connection(
    session: Session, tenant: Tenant, body: ConnectionIn, settings: Settings, actor: Actor | None = None
) -> CreatorIQConnection:
    """Store the CreatorIQ API key (checked with CreatorIQ first). The key is never returned or logged."""
    category_id = _category_id(session, tenant, body.category_code)
    _check_key(settings, body.api_key)
    connection = connection_of(session, tenant.organization_id, tenant.environment)
    if connection is None:
        connection = CreatorIQConnection.new(tenant, webhooks_subscribed=False)
        session.add(connection)
    connection.api_key, connection.api_key_hint = body.api_key, hint(body.api_key)
    connection.category_code = category_id
    connection.coverage_type = [c.value for c in body.coverage_type or []] or DEFAULT_COVERAGE
    connection.success_url = str(body.success_url) if body.success_url else None
    connection.cancel_url = str(body.cancel_url) if body.cancel_url else None
    record_change(
        session,
        tenant,
        actor,
        "creatoriq.key_saved",
        connection.id,
        organization_wide=True,
        api_key=connection.api_key_hint,
    )
    session.commit()
    return connection


def replace_key(
    session: Session, tenant: Tenant, api_key: str, settings: Settings, actor: Actor | None = None
) -> CreatorIQConnection:
    """A new key for the connection, keeping its other choices (category, coverage, links) as they were."""
    existing = connection_of(session, tenant.organization_id, tenant.environment)
    kept: dict[str, Any] = {}
    if existing is not None:
        kept = {
            "category_code": existing.category_code,
            "coverage_type": existing.coverage_type,
            "success_url": existing.success_url,
            "cancel_url": existing.cancel_url,
        }
    return save_connection(
        session, tenant, validated(ConnectionIn, {"api_key": api_key, **kept}), settings, actor
    )


def delete_connection(session: Session, tenant: Tenant) -> CreatorIQConnection:
    """Forget the key: no more syncs (what was synced stays)."""
    connection = get_connection(session, tenant)
    connection.deleted_at = now()
    connection.api_key = ""
    session.commit()
    return connection


def subscribe_webhooks(
    session: Session, tenant: Tenant, settings: Settings, actor: Actor | None = None
) -> CreatorIQConnection:
    """Ask CreatorIQ to send creator updates to our webhook URL (then the schedule stops polling)."""
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
        raise invalid("CreatorIQ refused the stored API key", code="invalid_creatoriq_api_key") from None
    except CreatorIQError as error:
        raise _unreachable(f"CreatorIQ could not subscribe: {error}") from None
    connection.webhooks_subscribed = True
    record_change(session, tenant, actor, "creatoriq.webhooks_subscribed", connection.id)
    session.commit()
    return connection


async def _start_scan(client: Client, settings: Settings, scan: ScanRequest, workflow_id: str) -> None:
    await client.start_workflow(
        CREATORIQ_SCAN_WORKFLOW,
        scan,
        id=workflow_id,
        task_queue=settings.task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        static_summary=f"CreatorIQ scan ({scan.trigger})",
        search_attributes=TypedSearchAttributes([SearchAttributePair(ORGANIZATION_ID, scan.organization_id)]),
    )


def start_sync(workflows: WorkflowCalls, settings: Settings, scan: ScanRequest, workflow_id: str) -> bool:
    """Start a scan; False when one with this id ran already (a webhook delivered twice). Refused as
    unavailable when it could not be started (the caller answers 503, or says so on its page)."""
    try:
        workflows.run(lambda client: _start_scan(client, settings, scan, workflow_id), START_TIMEOUT)
    except WorkflowAlreadyStartedError:
        return False
    except Exception:
        raise unavailable(SYNC_NOT_STARTED, code="service_unavailable") from None
    return True


def sync_now(
    session: Session,
    tenant: Tenant,
    settings: Settings,
    workflows: WorkflowCalls,
    trigger: str,
    actor: Actor,
    campaign_id: int | None = None,
    publisher_id: int | None = None,
) -> str:
    """Scan the tenant's CreatorIQ creators now (every Accepted creator of every running campaign, or only
    the campaign or creator given); returns the scan's id. Refused when no connection is configured or the
    scan could not be started; the start is in the audit log."""
    connection = get_connection(session, tenant)
    workflow_id = scan_workflow_id(tenant.organization_id, tenant.environment, trigger, secrets.token_hex(8))
    scan = ScanRequest(
        organization_id=tenant.organization_id,
        environment=tenant.environment,
        trigger=trigger,
        campaign_id=campaign_id,
        publisher_id=publisher_id,
    )
    start_sync(workflows, settings, scan, workflow_id)
    audit.record(
        session,
        tenant.organization_id,
        actor,
        "creatoriq.sync_started",
        connection.id,
        environment=tenant.environment,
        workflow=workflow_id,
    )
    session.commit()
    return workflow_id


def webhook_connection(session: Session, connection_id: str) -> CreatorIQConnection | None:
    """The connection a CreatorIQ webhook delivery names (detached: the caller checks its signature)."""
    connection = session.scalar(
        select(CreatorIQConnection).where(
            CreatorIQConnection.id == connection_id, CreatorIQConnection.deleted_at.is_(None)
        )
    )
    if connection is not None:
        session.expunge(connection)
    return connection


def sync_status(session: Session, tenant: Tenant) -> SyncStatus:
    """How many creators each sync outcome holds, and when a creator was last synced (indexed by tenant)."""
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
    return SyncStatus({s: counts.get(s, 0) for s in SYNC_OUTCOMES}, last)


def list_failed_creators(
    session: Session, tenant: Tenant, after: str | None, per_page: int
) -> Listing[CreatorIQCreator]:
    """The creators whose last sync failed (with their reasons), newest first."""
    failed = scoped(CreatorIQCreator, tenant).where(CreatorIQCreator.status == CreatorSyncStatus.FAILED)
    return newest_first(session, failed, CreatorIQCreator, after, per_page)
