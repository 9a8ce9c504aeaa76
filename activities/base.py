"""What the money activities share: the database, the settings, Stripe and the outbox dispatcher; and
loading the row an activity is about (a missing one is final: retrying will not make it appear)."""

import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from common.settings import Settings
from db.models import Payment, TenantResource
from domain.statuses import PaymentStatus
from integrations.stripe_gateway import RefundFailed, StripeGateway, StripeRefused, deadline
from outbox.dispatch import Dispatcher
from outbox.records import record_event

R = TypeVar("R", bound=TenantResource)
REFUND_FAILED = "RefundFailed"  # the error type of a refund the processor could not complete
# The processor's calls of an attempt end this long before the attempt's own timeout: the next attempt (which
# asks the processor what the key made) never runs beside a request of this one still waiting for an answer.
ATTEMPT_MARGIN_SECONDS = 3.0


@contextmanager
def processor_time() -> Iterator[None]:
    """Within an activity, bound every processor call to what is left of this attempt's start-to-close."""
    info = activity.info() if activity.in_activity() else None
    if info is None or info.start_to_close_timeout is None:
        yield
        return
    ends = info.started_time + info.start_to_close_timeout
    left = (ends - datetime.now(UTC)).total_seconds() - ATTEMPT_MARGIN_SECONDS
    with deadline(left):
        yield


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
        """Refund ``amount`` of a payment exactly once for ``key``. The intent is recorded first (a
        ``refunding`` row), so a retry whose predecessor's answer never came asks the processor for the
        refund made under the key before asking for one; a finished one is found in the row. A refund the
        processor could not complete is recorded ``refund_failed`` (the money was not given back) and fails
        the step for good with ``RefundFailed``, every time it is asked again."""
        with self._sessions() as session:
            payment = session.scalar(select(Payment).where(Payment.idempotency_key == key))
            if payment is not None and payment.status == PaymentStatus.REFUND_FAILED:
                raise _refund_failed(payment.payment_intent_id or "", None)
            if payment is not None and payment.payment_intent_id:
                return payment.payment_intent_id
            look_first = payment is not None
            if payment is None:
                payment = Payment(
                    idempotency_key=key,
                    amount=-amount,
                    status=PaymentStatus.REFUNDING,
                    created=int(time.time()),
                )
                session.add(payment)
                try:
                    session.commit()
                except IntegrityError:  # another attempt recorded it a moment ago: it may have asked already
                    session.rollback()
                    payment = session.scalar(select(Payment).where(Payment.idempotency_key == key))
                    assert payment is not None
                    look_first = True
            try:
                with processor_time():
                    refund = self._stripe.for_environment(environment).refund(
                        payment_intent_id, amount, metadata, key, look_first=look_first
                    )
            except StripeRefused as refused:  # a 4xx: asking again gets the same answer
                raise ApplicationError(refused.message, type="RefundRefused", non_retryable=True) from None
            except RefundFailed as failed:
                payment.payment_intent_id, payment.status = failed.refund_id, PaymentStatus.REFUND_FAILED
                session.commit()
                raise _refund_failed(failed.refund_id, failed.reason) from None
            payment.payment_intent_id, payment.status = refund, PaymentStatus.REFUNDED
            session.commit()
            return refund


def _refund_failed(refund_id: str, reason: str | None) -> ApplicationError:
    """Final: the processor took the refund and could not give the money back (the card was closed, say)."""
    why = f" ({reason.replace('_', ' ')})" if reason else ""
    return ApplicationError(
        f"the card processor could not complete refund {refund_id}{why}",
        refund_id,
        type=REFUND_FAILED,
        non_retryable=True,
    )
