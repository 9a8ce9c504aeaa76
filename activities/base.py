"""What the money activities share: the database, the settings, Stripe and the outbox dispatcher; and
loading the row an activity is about (a missing one is final: retrying will not make it appear)."""

import hashlib
import time
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.exceptions import ApplicationError

from common.settings import Settings
from db.models import Payment, TenantResource
from domain.statuses import PaymentStatus
from integrations.stripe_gateway import StripeGateway, StripeRefused
from outbox.dispatch import Dispatcher
from outbox.records import record_event

R = TypeVar("R", bound=TenantResource)


def row_of(session: Session, model: type[R], row_id: str) -> R:
    row = session.scalar(select(model).where(model.id == row_id))
    if row is None:
        raise ApplicationError(f"no {model.ID_KIND.replace('_', ' ')} {row_id}", non_retryable=True)
    return row


def charge_succeeded(
    session: Session, owner: TenantResource, payment_intent_id: str, amount: int, **related: str
) -> None:
    """``invoice.charge_card_succeeded`` for a charge, recorded once per PaymentIntent."""
    data = {
        "id": payment_intent_id,
        "object": "charge",
        "payment_intent": payment_intent_id,
        "amount": amount,
        "currency": "usd",
        "contractor": getattr(owner, "contractor_id", None),
        **related,
    }
    event_id = f"ev_{hashlib.sha256(payment_intent_id.encode()).hexdigest()[:20]}"
    record_event(
        session, owner.organization_id, owner.environment, "invoice.charge_card_succeeded", data, event_id
    )


class MoneyActivities:
    def __init__(
        self,
        session_factory: sessionmaker[Session],
        settings: Settings,
        gateway: StripeGateway,
        dispatcher: Dispatcher,
    ) -> None:
        self._sessions, self._settings, self._stripe, self._dispatcher = (
            session_factory,
            settings,
            gateway,
            dispatcher,
        )

    def _refund_once(
        self, environment: str, payment_intent_id: str, amount: int, metadata: dict[str, str], key: str
    ) -> str:
        """Refund ``amount`` of a payment exactly once for ``key``: a retry (or a crash after Stripe
        answered) finds the Payment row, or Stripe's own idempotency answers with the same refund."""
        with self._sessions() as session:
            done = session.scalar(select(Payment).where(Payment.idempotency_key == key))
            if done is not None and done.payment_intent_id:
                return done.payment_intent_id
            try:
                refund = self._stripe.for_environment(environment).refund(
                    payment_intent_id, amount, metadata, key
                )
            except StripeRefused as refused:  # a 4xx: asking again gets the same answer
                raise ApplicationError(refused.message, type="RefundRefused", non_retryable=True) from None
            session.add(
                Payment(
                    idempotency_key=key,
                    payment_intent_id=refund,
                    amount=-amount,
                    status=PaymentStatus.REFUNDED,
                    created=int(time.time()),
                )
            )
            session.commit()
            return refund
