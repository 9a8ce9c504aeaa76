"""CreatorIQ's webhook deliveries: checked against the connection's key, then turned into a scan.

CreatorIQ retries a delivery twice, a minute apart: the scan's workflow id comes from the delivery's
``requestId``, so a delivery that arrives twice starts one scan.
"""

import json
import time
from typing import TYPE_CHECKING, Any

from anyio import to_thread
from fastapi import APIRouter, Request

from api.errors import ApiError
from contracts.creatoriq import ScanRequest, webhook_scan_workflow_id
from integrations.creatoriq.signature import InvalidSignature, verify
from services import creatoriq
from services.workflow_calls import WorkflowCalls

if TYPE_CHECKING:
    from db.models import CreatorIQConnection

router = APIRouter(prefix="/integrations/creatoriq", tags=["creatoriq"])
SYNCING_ACTIONS = {"update", "campaign.added"}


def _int(value: Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2**31 else None


def _connection(request: Request, connection_id: str) -> "CreatorIQConnection | None":
    with request.app.state.session_factory() as session:
        return creatoriq.webhook_connection(session, connection_id)


@router.post("/webhooks/{connection_id}")
async def receive_webhook(connection_id: str, request: Request) -> dict[str, Any]:
    """CreatorIQ's ``Publisher update`` and ``Publisher campaign.added`` start a sync of that creator."""
    connection = await to_thread.run_sync(_connection, request, connection_id)
    if connection is None:
        raise ApiError(404, "resource_missing", "No such CreatorIQ connection")
    try:
        envelope = json.loads(await request.body())
    except ValueError:
        raise ApiError(400, "invalid_input", "The body is not JSON") from None
    if not isinstance(envelope, dict) or not isinstance(envelope.get("payload"), dict):
        raise ApiError(400, "invalid_input", "The body has no payload object")
    try:
        verify(envelope["payload"], request.headers, connection.api_key, time.time())
    except InvalidSignature as bad:
        raise ApiError(401, "invalid_signature", f"CreatorIQ signature check failed: {bad}") from None
    payload = envelope["payload"]
    entity_type, action = envelope.get("entityType"), envelope.get("actionType")
    publisher_id = _int(payload.get("PublisherId") or envelope.get("entityId"))
    if entity_type != "Publisher" or action not in SYNCING_ACTIONS or publisher_id is None:
        return {"received": True, "sync": None}
    request_id = str(envelope.get("requestId") or f"{publisher_id}-{envelope.get('timestamp')}")[:80]
    workflow_id = webhook_scan_workflow_id(connection.id, request_id)
    scan = ScanRequest(
        organization_id=connection.organization_id,
        environment=connection.environment,
        trigger=f"webhook {entity_type} {action}",
        publisher_id=publisher_id,
        campaign_id=_int(payload.get("CampaignId")),
    )
    workflows = WorkflowCalls(request.app.state.temporal)
    # Refused as unavailable (a 503) when it could not start: CreatorIQ retries a delivery that failed.
    started = await to_thread.run_sync(
        creatoriq.start_sync, workflows, request.app.state.settings, scan, workflow_id
    )
    if not started:
        return {"received": True, "sync": workflow_id, "duplicate": True}
    return {"received": True, "sync": workflow_id}
