"""Bills and their lifecycle: open, paid (the organization records its payment), overdue after the due date
(an event and an email to the billing contact), void; and policies that reach their expiration date."""

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import Field
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from common.schemas import Strict
from db.models import Assignment, Bill, Contractor, Invoice, Organization, Policy
from domain.bills import amount_remaining
from domain.errors import DomainError, conflict, invalid
from domain.limits import MAX_PAYMENT_CENTS
from domain.statuses import BillStatus, PolicyStatus
from notifications.catalog import BillOverdue, EmailKind
from outbox.records import enqueue_email, record_event
from services import representations as render
from services.audit import Actor, record_change
from services.bill_lines import ShownLine, shown_lines
from services.lookups import Listing, filtered, get_owned, newest_first, now, scoped
from services.pickers import Choice, Typed, resolve
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


def pay_bill(
    session: Session, tenant: Tenant, bill_id: str, body: BillPayment, actor: Actor | None = None
) -> Bill:
    """Record a payment the organization made; the bill is paid once the payments cover it."""
    bill = get_bill(session, tenant, bill_id)
    if bill.status == BillStatus.VOID:
        raise conflict("bill_void", f"Bill {bill.id} was voided; nothing is due")
    if bill.status == BillStatus.PAID:
        raise conflict("bill_already_paid", f"Bill {bill.id} is already paid")
    remaining = amount_remaining(bill.amount_due, bill.amount_paid)
    if body.amount > remaining:
        raise invalid(
            f"amount: {body.amount} is more than the {remaining} cents still due",
            "amount",
            remaining=remaining,
        )
    bill.amount_paid = (bill.amount_paid or 0) + body.amount
    bill.payment_reference = body.reference
    if bill.amount_paid >= bill.amount_due:
        bill.status, bill.paid_at = BillStatus.PAID, now()
        record_event(session, bill.organization_id, bill.environment, "bill.paid", render.bill(bill))
    record_change(
        session,
        tenant,
        actor,
        "bill.payment_recorded",
        bill.id,
        amount=body.amount,
        reference=body.reference,
        status=bill.status,
    )
    session.commit()
    return bill


def mark_overdue_bills(session: Session, moment: int, limit: int = 500, base_url: str = "") -> Sequence[str]:
    """Open bills past their due date become overdue, each with ``bill.overdue`` and an email to the
    organization's billing contact (what the bill is for, and its page in the dashboard at ``base_url``,
    where the payment is recorded). Returns their ids."""
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
                    amount_due=amount_remaining(bill.amount_due, bill.amount_paid),
                    due_date=bill.due_date,
                    purchase_order_number=bill.purchase_order_number,
                    pdf_url=bill.pdf_url or "",
                    lines=[str(line.get("description", "")) for line in bill.line_items or []],
                    bill_url=f"{base_url.rstrip('/')}/dashboard/billing/bills/{bill.id}" if base_url else "",
                ),
                related={"bill": bill.id},
                email_id=f"em_overdue_{bill.id.removeprefix('bl_')}",
            )
    session.commit()
    return [b.id for b in bills]


def expire_policies(session: Session, moment: int, batch: int = 500) -> Sequence[str]:
    """Active policies past their expiration date become expired, each with ``policy.expired``: all of
    them, a batch a transaction (a backlog, say after the worker was down, is not left for later sweeps)."""
    expired: list[str] = []
    while True:
        policies = session.scalars(
            select(Policy)
            .where(
                Policy.status == PolicyStatus.ACTIVE,
                Policy.expiration_date < moment,
                Policy.deleted_at.is_(None),
            )
            .order_by(Policy.expiration_date)
            .limit(batch)
        ).all()
        for policy in policies:
            policy.status = PolicyStatus.EXPIRED
            announce(session, policy, "policy.expired", f"ev_expired_{policy.id}")
        session.commit()
        expired += [p.id for p in policies]
        if len(policies) < batch:
            return expired


# What the dashboard's Billing page shows ----------------------------------------------------------------

SHOWN_STATUSES = [BillStatus.OPEN, BillStatus.OVERDUE, BillStatus.PAID, BillStatus.VOID]
EXPORT_LIMIT = 10_000
CSV_COLUMNS = [
    "id",
    "status",
    "bill_date",
    "due_date",
    "amount_due",
    "amount_paid",
    "amount_remaining",
    "contractor",
    "job",
    "assignment",
    "purchase_order_number",
    "po_contact_name",
    "po_contact_email",
    "payment_reference",
    "paid_at",
    "pdf_url",
]


def bill_totals(session: Session, tenant: Tenant) -> dict[str, dict[str, int]]:
    """Per status: how many bills, what they were for and what is still due (one grouped, indexed query)."""
    rows = session.execute(
        select(Bill.status, func.count(), func.sum(Bill.amount_due), func.sum(Bill.amount_paid))
        .where(
            Bill.organization_id == tenant.organization_id,
            Bill.environment == tenant.environment,
            Bill.deleted_at.is_(None),
        )
        .group_by(Bill.status)
    )
    found = {
        # PostgreSQL sums 64-bit columns as NUMERIC (a Decimal): amounts are integer cents
        status: {
            "count": count,
            "amount_due": int(due or 0),
            "remaining": amount_remaining(int(due or 0), int(paid or 0)),
        }
        for status, count, due, paid in rows
    }
    empty = {"count": 0, "amount_due": 0, "remaining": 0}
    return {s.value: found.get(s, empty) for s in SHOWN_STATUSES}


def _bills(tenant: Tenant, status: str, contractor: str) -> Select[Bill]:
    return filtered(
        scoped(Bill, tenant), {Bill.status: status or None, Bill.contractor_id: contractor or None}
    )


def contractor_names(session: Session, bills: list[Bill]) -> dict[str, str]:
    ids = {b.contractor_id for b in bills}
    rows: list[Contractor] = (
        list(session.scalars(select(Contractor).where(Contractor.id.in_(ids)))) if ids else []
    )
    return {c.id: c.full_name for c in rows}


@dataclass(frozen=True)
class BillList:
    listing: Listing[Bill]
    names: dict[str, str]
    totals: dict[str, dict[str, int]]
    organization: Organization
    contractor: Choice | None = None  # the contractor the filter names
    unresolved: DomainError | None = None  # the filter names none or several: no bills listed, and why


def _filter_contractor(session: Session, tenant: Tenant, typed: Typed) -> tuple[Choice | None, str]:
    """The contractor a filter names as typed (services.pickers), and its id (an unknown one: no bills)."""
    choice = resolve(session, tenant, "contractor", typed)
    return choice, choice.id if choice else ""


def list_bills(
    session: Session, tenant: Tenant, status: str, contractor: Typed, after: str | None, per_page: int
) -> BillList:
    """A page of the tenant's bills (by status and contractor, named as typed) with the totals per status,
    and the organization whose billing details the page shows."""
    organization = session.get(Organization, tenant.organization_id)
    assert organization is not None
    totals = bill_totals(session, tenant)
    try:
        choice, contractor_id = _filter_contractor(session, tenant, contractor)
    except DomainError as error:
        return BillList(Listing([], None), {}, totals, organization, None, error)
    listing = newest_first(session, _bills(tenant, status, contractor_id), Bill, after, per_page)
    return BillList(listing, contractor_names(session, listing.rows), totals, organization, choice)


@dataclass(frozen=True)
class BillOverview:
    bill: Bill
    names: dict[str, str]
    remaining: int
    lines: list[ShownLine]
    organization: Organization


def bill_overview(session: Session, tenant: Tenant, bill_id: str) -> BillOverview:
    """The bill, its lines with what each is for, and the organization (whose billing contact a bill's PO
    contact falls back to)."""
    bill = get_bill(session, tenant, bill_id)
    organization = session.get(Organization, tenant.organization_id)
    assert organization is not None
    return BillOverview(
        bill,
        contractor_names(session, [bill]),
        amount_remaining(bill.amount_due, bill.amount_paid),
        shown_lines(session, bill),
        organization,
    )


def _cell(value: object) -> object:
    """A text cell a spreadsheet would run as a formula (=, +, -, @) is kept as text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _dollars(amount: int | None) -> str:
    amount = amount or 0
    return f"{'-' if amount < 0 else ''}{abs(amount) // 100}.{abs(amount) % 100:02d}"


def _day(ts: int | None) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d") if ts else ""


def export_bills(session: Session, tenant: Tenant, status: str, contractor: Typed) -> str:
    """The bills the page shows as CSV (the same filters, every page of them up to EXPORT_LIMIT), newest
    first; amounts in dollars, dates as YYYY-MM-DD (UTC)."""
    try:
        contractor_id = _filter_contractor(session, tenant, contractor)[1]
    except DomainError:
        contractor_id = "-"  # names none or several: no bills
    query = _bills(tenant, status, contractor_id)
    bills = session.scalars(query.order_by(Bill.seq.desc()).limit(EXPORT_LIMIT))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for b in bills:
        row = [
            b.id,
            b.status,
            _day(b.bill_date),
            _day(b.due_date),
            _dollars(b.amount_due),
            _dollars(b.amount_paid or 0),
            _dollars(amount_remaining(b.amount_due, b.amount_paid)),
            b.contractor_id,
            b.job_id,
            b.assignment_id,
            b.purchase_order_number,
            b.po_contact_name,
            b.po_contact_email,
            b.payment_reference,
            _day(b.paid_at),
            b.pdf_url,
        ]
        writer.writerow([_cell(v) if v is not None else "" for v in row])
    return out.getvalue()
