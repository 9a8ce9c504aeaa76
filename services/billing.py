"""Bills and their lifecycle: open, paid (the organization records its payment), overdue after the due date
(an event and an email to the billing contact), void; and policies that reach their expiration date."""

from collections.abc import Sequence

from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from common.schemas import Strict
from db.models import Assignment, Bill, Invoice, Organization, Policy
from domain.errors import conflict, invalid
from domain.limits import MAX_PAYMENT_CENTS
from domain.statuses import BillStatus, PolicyStatus
from notifications.catalog import BillOverdue, EmailKind
from outbox.records import enqueue_email, record_event
from services import representations as render
from services.lookups import get_owned, now
from services.policies import announce
from services.tenancy import Tenant

UNPAID = (BillStatus.OPEN, BillStatus.OVERDUE)


class BillPayment(Strict):
    amount: int = Field(ge=1, le=MAX_PAYMENT_CENTS, description="Cents received (at most $10,000,000)")
    reference: str = Field(min_length=1, max_length=200, description="Your payment's reference (check, wire)")


def billed_job(
    session: Session, job_id: str | None, policy_id: str | None, assignment_id: str | None
) -> tuple[str | None, str | None]:
    """Which job a bill is for (its PO number and contact come from the job's metadata), and the PO number
    of the assignment's newest invoice, which wins over the job's."""
    if assignment_id:
        assignment = session.scalar(select(Assignment).where(Assignment.id == assignment_id))
        invoice = session.scalar(
            select(Invoice)
            .where(Invoice.assignment_id == assignment_id, Invoice.deleted_at.is_(None))
            .order_by(Invoice.seq.desc())
            .limit(1)
        )
        return job_id or (
            assignment.job_id if assignment else None
        ), invoice.purchase_order_number if invoice else None
    if policy_id and not job_id:
        policy = session.scalar(select(Policy).where(Policy.id == policy_id))
        return (policy.job_id if policy else None), None
    return job_id, None


def get_bill(session: Session, tenant: Tenant, bill_id: str) -> Bill:
    return get_owned(session, Bill, tenant, bill_id, "resource_not_found", "bill")


def pay_bill(session: Session, tenant: Tenant, bill_id: str, body: BillPayment) -> Bill:
    """Record a payment the organization made; the bill is paid once the payments cover it."""
    bill = get_bill(session, tenant, bill_id)
    if bill.status == BillStatus.VOID:
        raise conflict("bill_void", f"Bill {bill.id} was voided; nothing is due")
    if bill.status == BillStatus.PAID:
        raise conflict("bill_already_paid", f"Bill {bill.id} is already paid")
    remaining = bill.amount_due - (bill.amount_paid or 0)
    if body.amount > remaining:
        raise invalid(f"amount: {body.amount} is more than the {remaining} cents still due", "amount")
    bill.amount_paid = (bill.amount_paid or 0) + body.amount
    bill.payment_reference = body.reference
    if bill.amount_paid >= bill.amount_due:
        bill.status, bill.paid_at = BillStatus.PAID, now()
        record_event(session, bill.organization_id, bill.environment, "bill.paid", render.bill(bill))
    session.commit()
    return bill


def mark_overdue_bills(session: Session, moment: int, limit: int = 500) -> Sequence[str]:
    """Open bills past their due date become overdue, each with ``bill.overdue`` and an email to the
    organization's billing contact. Returns their ids."""
    bills = session.scalars(
        select(Bill)
        .where(Bill.status == BillStatus.OPEN, Bill.due_date < moment, Bill.amount_due > 0)
        .limit(limit)
    ).all()
    for bill in bills:
        bill.status = BillStatus.OVERDUE
        record_event(
            session,
            bill.organization_id,
            bill.environment,
            "bill.overdue",
            render.bill(bill),
            f"ev_overdue_{bill.id}",
        )
        organization = session.get(Organization, bill.organization_id)
        if organization is not None and organization.billing_contact_email:
            enqueue_email(
                session,
                bill.organization_id,
                bill.environment,
                EmailKind.BILL_OVERDUE,
                organization.billing_contact_email,
                BillOverdue(
                    organization_name=organization.name,
                    representative_name=organization.billing_contact_name or organization.name,
                    bill_number=bill.id,
                    amount_due=bill.amount_due - (bill.amount_paid or 0),
                    due_date=bill.due_date,
                    purchase_order_number=bill.purchase_order_number,
                    pdf_url=bill.pdf_url or "",
                ),
                related={"bill": bill.id},
                email_id=f"em_overdue_{bill.id.removeprefix('bl_')}",
            )
    session.commit()
    return [b.id for b in bills]


def expire_policies(session: Session, moment: int, limit: int = 500) -> Sequence[str]:
    """Active policies past their expiration date become expired, each with ``policy.expired``."""
    policies = session.scalars(
        select(Policy)
        .where(
            Policy.status == PolicyStatus.ACTIVE, Policy.expiration_date < moment, Policy.deleted_at.is_(None)
        )
        .limit(limit)
    ).all()
    for policy in policies:
        policy.status = PolicyStatus.EXPIRED
        announce(session, policy, "policy.expired", f"ev_expired_{policy.id}")
    session.commit()
    return [p.id for p in policies]
