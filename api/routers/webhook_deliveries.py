from typing import Any

from fastapi import APIRouter

from api.deps import CurrentTenant, DbSession
from services import representations as render
from services import webhooks

router = APIRouter(prefix="/webhook_deliveries", tags=["webhook endpoints"])


@router.get("/{delivery_id}")
def retrieve_webhook_delivery(delivery_id: str, session: DbSession, tenant: CurrentTenant) -> dict[str, Any]:
    """A delivery with every attempt: when, the HTTP status, how long it took, and the error if any."""
    delivery = webhooks.get_delivery(session, tenant, delivery_id)
    return render.webhook_delivery(delivery, webhooks.attempts_of(session, [delivery.id])[delivery.id])


@router.post("/{delivery_id}/resend", status_code=201)
def resend_webhook_delivery(delivery_id: str, session: DbSession, tenant: CurrentTenant) -> dict[str, Any]:
    """Send the same event to the same endpoint again, as a new delivery with its own attempts."""
    return render.webhook_delivery(webhooks.resend_delivery(session, tenant, delivery_id), [])
