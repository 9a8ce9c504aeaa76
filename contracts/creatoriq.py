"""Inputs and outputs of the CreatorIQ sync workflows and their activities."""

from pydantic import BaseModel

from contracts.calls import SignalName
from domain.creatoriq import CreatorSnapshot, SyncDecision
from domain.statuses import CreatorSyncStatus

CREATOR_SYNC_WORKFLOW = "CreatorIQCreatorSyncWorkflow"
CREATORIQ_SCAN_WORKFLOW = "CreatorIQScanWorkflow"
CREATORIQ_POLL_WORKFLOW = "CreatorIQPollWorkflow"


class ConnectionRef(BaseModel):
    organization_id: str
    environment: str


class ScanRequest(BaseModel):
    """Which creators to look at: one creator (a webhook), one campaign, or every campaign."""

    organization_id: str
    environment: str
    trigger: str
    publisher_id: int | None = None
    campaign_id: int | None = None


class CreatorRef(BaseModel):
    organization_id: str
    environment: str
    campaign_id: int
    publisher_id: int


class SyncRequests(BaseModel):
    creators: list[CreatorRef]
    trigger: str


class FetchedCreator(BaseModel):
    """What CreatorIQ says now, or why it could not say it."""

    snapshot: CreatorSnapshot | None = None
    problem: str | None = None


class ApplySync(BaseModel):
    creator: CreatorRef
    decision: SyncDecision


class SyncReport(BaseModel):
    record_id: str
    status: CreatorSyncStatus
    reasons: list[str]
    contractor_id: str | None = None
    application_session_id: str | None = None
    superseded_session_id: str | None = None


def scan_workflow_id(organization_id: str, environment: str, trigger: str, unique: str) -> str:
    """A scan's id: ``unique`` tells scans of the same trigger apart (a poll's start time, a random part)."""
    return f"creatoriq-scan-{organization_id}-{environment}-{trigger}-{unique}"


def webhook_scan_workflow_id(connection_id: str, request_id: str) -> str:
    """A scan started by a CreatorIQ webhook delivery: a delivery CreatorIQ sends again starts no second."""
    return f"creatoriq-webhook-{connection_id}-{request_id}"


def creator_workflow_id(creator: CreatorRef) -> str:
    return (
        f"creatoriq-sync-{creator.organization_id}-{creator.environment}-"
        f"{creator.campaign_id}-{creator.publisher_id}"
    )


REQUEST_SYNC = SignalName[str]("request_sync")  # the trigger: webhook, api or schedule
