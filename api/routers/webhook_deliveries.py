from typing import Any

from fastapi import APIRouter
from sqlalchemy import select

from api.deps import CurrentTenant, DbSession
from api.errors import conflict
from api.queries import get_owned, now
from api.routers.webhook_endpoints import get_endpoint
from common import representations as render
from db.models import Event, WebhookAttempt, WebhookDelivery
from outbox.records import add_delivery

router = APIRouter(prefix="/webhook_deliveries", tags=["webhook endpoints"])


def _get(session: DbSession, tenant: CurrentTenant, delivery_id: str) -> WebhookDelivery:
    return get_owned(session, WebhookDelivery, tenant, delivery_id, "resource_not_found", "webhook delivery")


@router.get("/{delivery_id}")
def retrieve_webhook_delivery(delivery_id: str, session: DbSession, tenant: CurrentTenant) -> dict[str, Any]:
    """A delivery with every attempt: when, the HTTP status, how long it took, and the error if any."""
    delivery = _get(session, tenant, delivery_id)
    attempts = session.scalars(
        select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id == delivery.id)
        .order_by(WebhookAttempt.attempt)
    )
    return render.webhook_delivery(delivery, list(attempts))


@router.post("/{delivery_id}/resend", status_code=201)
def resend_webhook_delivery(delivery_id: str, session: DbSession, tenant: CurrentTenant) -> dict[str, Any]:
    """Send the same event to the same endpoint again, as a new delivery with its own attempts."""
    original = _get(session, tenant, delivery_id)
    endpoint = get_endpoint(session, tenant, original.endpoint_id)
    if endpoint.status != "enabled":
        raise conflict("bad_request", f"Webhook endpoint {endpoint.id} is disabled; enable it first")
    stored = session.scalar(select(Event).where(Event.id == original.event_id))
    assert stored is not None
    delivery = add_delivery(session, stored, endpoint, now(), resend_of=original.id)
    session.commit()
    return render.webhook_delivery(delivery, [])
