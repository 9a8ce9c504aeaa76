from typing import Any

from fastapi import APIRouter
from sqlalchemy import select

from api.deps import CurrentTenant, DbSession
from common import representations as render
from db.models import WebhookAttempt
from services import webhooks

router = APIRouter(prefix="/webhook_deliveries", tags=["webhook endpoints"])


@router.get("/{delivery_id}")
def retrieve_webhook_delivery(delivery_id: str, session: DbSession, tenant: CurrentTenant) -> dict[str, Any]:
    """A delivery with every attempt: when, the HTTP status, how long it took, and the error if any."""
    delivery = webhooks.get_delivery(session, tenant, delivery_id)
    attempts = session.scalars(
        select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id == delivery.id)
        .order_by(WebhookAttempt.attempt)
    )
    return render.webhook_delivery(delivery, list(attempts))


@router.post("/{delivery_id}/resend", status_code=201)
def resend_webhook_delivery(delivery_id: str, session: DbSession, tenant: CurrentTenant) -> dict[str, Any]:
    """Send the same event to the same endpoint again, as a new delivery with its own attempts."""
    return render.webhook_delivery(webhooks.resend_delivery(session, tenant, delivery_id), [])
