"""POSTing signed events to platforms' webhook endpoints, one attempt per activity attempt."""

import json
import time

import httpx
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from common.webhook_signature import EVENT_ID_HEADER, SIGNATURE_HEADER, signature_header
from db.models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from outbox.records import event_payload
from workflows.messages import DeliveryFailure

USER_AGENT = "gigcover-webhooks/1"


def _cancelled(reason: str) -> ApplicationError:
    return ApplicationError(reason, type="DeliveryCancelled", non_retryable=True)


class WebhookActivities:
    def __init__(self, session_factory: sessionmaker[Session], timeout_seconds: float) -> None:
        self._sessions = session_factory
        self._http = httpx.Client(
            timeout=timeout_seconds, follow_redirects=False, headers={"User-Agent": USER_AGENT}
        )

    @activity.defn
    def deliver_webhook(self, delivery_id: str) -> int:
        with self._sessions() as session:
            delivery = session.scalar(select(WebhookDelivery).where(WebhookDelivery.id == delivery_id))
            if delivery is None:
                raise _cancelled(f"no webhook delivery {delivery_id}")
            if delivery.status == "delivered":
                return delivery.last_status_code or 200
            endpoint = session.scalar(
                select(WebhookEndpoint).where(WebhookEndpoint.id == delivery.endpoint_id)
            )
            if endpoint is None or endpoint.deleted_at is not None or endpoint.status != "enabled":
                delivery.status, delivery.last_error = "cancelled", "the endpoint was disabled or deleted"
                session.commit()
                raise _cancelled("the endpoint was disabled or deleted")
            stored = session.scalar(select(Event).where(Event.id == delivery.event_id))
            if stored is None:
                raise _cancelled(f"no event {delivery.event_id}")
            url, secret, event_id = endpoint.url, endpoint.secret, stored.id
            body = json.dumps(event_payload(stored), separators=(",", ":")).encode()

        # Temporal's clock (when this attempt was scheduled): attempt times line up with the workflow history.
        attempted_at, started = activity.info().current_attempt_scheduled_time.timestamp(), time.monotonic()
        status: int | None = None
        error: str | None = None
        try:
            response = self._http.post(
                url,
                content=body,
                headers={
                    "Content-Type": "application/json",
                    SIGNATURE_HEADER: signature_header(secret, body),
                    EVENT_ID_HEADER: event_id,
                    "ten99policy-delivery-id": delivery_id,
                },
            )
            status = response.status_code
            if not 200 <= status < 300:
                error = f"the endpoint answered HTTP {status}"
        except httpx.HTTPError as failure:
            error = f"{type(failure).__name__}: {failure or 'no answer'}"
        latency_ms = round((time.monotonic() - started) * 1000)
        self._record_attempt(delivery_id, activity.info().attempt, attempted_at, status, latency_ms, error)
        if error:
            raise ApplicationError(error, type="DeliveryFailed")
        assert status is not None
        return status

    def _record_attempt(
        self,
        delivery_id: str,
        attempt: int,
        attempted_at: float,
        status: int | None,
        latency_ms: int,
        error: str | None,
    ) -> None:
        with self._sessions() as session:
            session.add(
                WebhookAttempt(
                    delivery_id=delivery_id,
                    attempt=attempt,
                    attempted_at=attempted_at,
                    status_code=status,
                    latency_ms=latency_ms,
                    error=error,
                )
            )
            try:
                session.flush()
            except IntegrityError:  # this attempt was recorded before a crash; keep the first record
                session.rollback()
            delivery = session.scalar(select(WebhookDelivery).where(WebhookDelivery.id == delivery_id))
            assert delivery is not None
            delivery.attempt_count = max(delivery.attempt_count, attempt)
            delivery.last_status_code, delivery.last_error = status, error
            if error is None:
                delivery.status, delivery.delivered_at = "delivered", int(attempted_at)
            session.commit()

    @activity.defn
    def give_up_webhook_delivery(self, failure: DeliveryFailure) -> None:
        with self._sessions() as session:
            delivery = session.scalar(select(WebhookDelivery).where(WebhookDelivery.id == failure.id))
            if delivery is not None and delivery.status == "pending":
                delivery.status, delivery.failed_at = "failed", int(time.time())
                delivery.last_error = failure.reason
                session.commit()
