"""POSTing signed events to platforms' webhook endpoints, one attempt per activity attempt."""

import time

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from contracts.delivery import DeliveryFailure
from db.models import WebhookDelivery
from domain.statuses import DeliveryStatus
from outbox.senders import NotDeliveredYet, Undeliverable, WebhookSender


class WebhookActivities:
    def __init__(
        self, session_factory: sessionmaker[Session], timeout_seconds: float, sandbox_private_targets: bool
    ) -> None:
        self._sessions = session_factory
        self._sender = WebhookSender(session_factory, timeout_seconds, sandbox_private_targets)

    @activity.defn
    def deliver_webhook(self, delivery_id: str) -> int:
        # Temporal's clock (when this attempt was scheduled): attempt times line up with the workflow history.
        attempted_at = activity.info().current_attempt_scheduled_time.timestamp()
        try:
            return self._sender.attempt(delivery_id, attempted_at)
        except Undeliverable as refusal:
            raise ApplicationError(str(refusal), type="DeliveryCancelled", non_retryable=True) from None
        except NotDeliveredYet as failure:
            raise ApplicationError(str(failure), type="DeliveryFailed") from None

    @activity.defn
    def give_up_webhook_delivery(self, failure: DeliveryFailure) -> None:
        with self._sessions() as session:
            delivery = session.scalar(select(WebhookDelivery).where(WebhookDelivery.id == failure.id))
            if delivery is not None and delivery.status == DeliveryStatus.PENDING:
                delivery.status, delivery.failed_at = DeliveryStatus.FAILED, int(time.time())
                delivery.last_error = failure.reason
                session.commit()
