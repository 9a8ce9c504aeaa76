"""What money an assignment moved, as the dashboard shows it beside the assignment: its card charges and
refunds (the Payment rows its workflow keyed) and the bills issued for it (remit), oldest first. A read:
the workflow decides and moves the money (workflows/assignment.py), this only lists what it recorded."""

from dataclasses import dataclass

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from contracts.assignment import assignment_workflow_id
from db.models import ApplicationSession, Assignment, Bill, Payment
from domain.statuses import PaymentStatus
from services.lookups import scoped
from services.tenancy import Tenant


@dataclass(frozen=True)
class Movement:
    at: int
    kind: str  # "card charge", "card refund", "declined charge", "failed refund", "bill"
    amount: int  # cents: positive collected, negative given back
    reference: str  # the PaymentIntent, the refund, or the bill id
    description: str = ""
    bill: Bill | None = None


KINDS = {
    PaymentStatus.CAPTURED: "card charge",
    PaymentStatus.REFUNDED: "card refund",
    PaymentStatus.DECLINED: "declined charge",
    PaymentStatus.REFUND_FAILED: "failed refund",
}


def _keyed_under(session: Session, prefix: str) -> list[Payment]:
    """Payments whose idempotency key starts with ``prefix``, through the key's unique index (SQLite's LIKE
    ignores case and so skips the index; its GLOB does not)."""
    column = Payment.idempotency_key
    condition: ColumnElement[bool]
    if session.get_bind().dialect.name == "sqlite":
        condition = column.op("GLOB", is_comparison=True)(prefix + "*")
    else:
        condition = column.startswith(prefix, autoescape=True)
    return list(session.scalars(select(Payment).where(condition).order_by(Payment.id)))


def bills_of(session: Session, tenant: Tenant, assignment: Assignment) -> list[Bill]:
    """The bills issued for the assignment, and the bill of the application that began its engagement."""
    application_bill = None
    if assignment.application_session_id:
        application_bill = session.scalar(
            select(ApplicationSession.bill_id).where(
                ApplicationSession.id == assignment.application_session_id
            )
        )
    query = scoped(Bill, tenant).where(Bill.contractor_id == assignment.contractor_id)
    condition = Bill.assignment_id == assignment.id
    if application_bill:
        condition = condition | (Bill.id == application_bill)
    return list(session.scalars(query.where(condition).order_by(Bill.seq)))


def money_moved(session: Session, tenant: Tenant, assignment: Assignment) -> list[Movement]:
    moved: list[Movement] = []
    if assignment.application_session_id:
        application = session.scalar(
            select(ApplicationSession).where(ApplicationSession.id == assignment.application_session_id)
        )
        if application is not None and application.payment_intent_id and application.completed_at:
            moved.append(
                Movement(
                    application.completed_at,
                    "card charge",
                    application.premium,
                    application.payment_intent_id,
                    "charged when the application was completed",
                )
            )
    for payment in _keyed_under(session, assignment_workflow_id(assignment.id) + ":"):
        kind = KINDS.get(payment.status)
        if kind is None:  # still charging, or never reached Stripe
            continue
        if payment.status in (PaymentStatus.DECLINED, PaymentStatus.REFUND_FAILED):  # nothing moved
            asked = "was not collected" if payment.status == PaymentStatus.DECLINED else "was not given back"
            note = f"${payment.amount / 100:,.2f} {asked}"
            moved.append(Movement(payment.created, kind, 0, payment.payment_intent_id or "", note))
            continue
        moved.append(Movement(payment.created, kind, payment.amount, payment.payment_intent_id or ""))
    for bill in bills_of(session, tenant, assignment):
        description = "; ".join(str(line.get("description", "")) for line in bill.line_items or [])
        moved.append(Movement(bill.bill_date, "bill", bill.amount_due, bill.id, description, bill))
    return sorted(moved, key=lambda m: m.at)
