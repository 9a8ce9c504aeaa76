"""Invoices: the pay a contractor actually earned on an assignment. The newest one is the final pay: earlier
open invoices are voided, and the assignment's workflow re-prices the premium (before the charge: a new
notice and a new window; after: the difference is charged or refunded)."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import Field, model_validator
from sqlalchemy.orm import Session

from common.schemas import Strict, UnixTime
from common.validation import validated
from contracts.assignment import ADJUST, InvoiceAdjustment, assignment_workflow_id
from db.models import Assignment, Invoice, Job, PremiumAdjustment
from domain.assignment_coverage import CoveragePath, binds_now
from domain.errors import DomainError, Refusal, conflict, invalid
from domain.limits import MAX_GROSS_PAY_CENTS, check_premium
from domain.premium import estimated_gross_pay, premium_cents
from domain.statuses import AssignmentStatus, InvoiceStatus
from services.assignments import current_assignment, the_jobs_current
from services.audit import Actor, record_change
from services.lookups import get_assignment, get_contractor, get_invoice, get_job, now, scoped
from services.tenancy import Tenant
from services.workflow_calls import WorkflowCalls

GrossPay = Field(
    ge=100, le=MAX_GROSS_PAY_CENTS, description="Cents earned in the pay period (at most $1,000,000)"
)


class InvoiceIn(Strict):
    contractor: str
    job: str
    gross_pay: int = GrossPay
    paycycle_startdate: UnixTime
    paycycle_enddate: UnixTime
    purchase_order_number: str | None = Field(None, max_length=100)

    @model_validator(mode="after")
    def _period(self) -> "InvoiceIn":
        if self.paycycle_enddate < self.paycycle_startdate:
            raise ValueError("paycycle_enddate: must not be before paycycle_startdate")
        return self


class InvoiceUpdate(Strict):
    gross_pay: int | None = GrossPay
    purchase_order_number: str | None = Field(None, max_length=100)


@dataclass(frozen=True)
class Saved:
    """An invoice change, kept; ``pending`` when the workflow has not yet confirmed the new premium (it did
    not answer in time: it may still be moving the money, or be unreachable): it is applied without a retry,
    by the Update still running or by the outbox sweep."""

    invoice: Invoice
    pending: bool = False


def reprice(
    session: Session,
    workflows: WorkflowCalls,
    assignment: Assignment,
    key: str,
    premium: int,
    undo: Callable[[], None],
) -> bool:
    """Commit the change with its premium adjustment, then tell the workflow (no write transaction may be held
    while waiting for it: its activities write to the same database); if it refuses, ``undo`` the change and
    re-raise. Should this process die after the commit, the outbox sweep sends the adjustment instead.
    Returns whether the workflow confirmed it (False: kept, and pending)."""
    adjustment = PremiumAdjustment(
        assignment_id=assignment.id, invoice_key=key, premium=premium, created=now()
    )
    session.add(adjustment)
    session.flush()
    sequence = adjustment.id
    session.commit()
    try:
        workflows.update(
            assignment_workflow_id(assignment.id),
            ADJUST,
            InvoiceAdjustment(invoice_id=key, premium=premium, sequence=sequence),
        )
    except DomainError as refused:
        if refused.kind is Refusal.UNAVAILABLE:
            # Kept: the workflow did not answer in time (busy moving money, or not reachable yet). An Update
            # still running finishes by itself; otherwise the outbox sweep sends the adjustment.
            return False
        undo()
        adjustment.dispatched = True
        session.commit()
        raise
    adjustment.dispatched = True
    session.commit()
    return True


def _billable(session: Session, tenant: Tenant, contractor_id: str, job_id: str) -> Assignment:
    assignment = current_assignment(session, tenant, contractor_id, job_id)
    if assignment is None:
        raise invalid(
            "The contractor has no assignment with coverage for this job",
            code="no_active_policy",
            reason="none",
        )
    if assignment.coverage_path == CoveragePath.STANDARD and assignment.status != AssignmentStatus.ACTIVE:
        raise invalid(
            f"Assignment {assignment.id} is waiting for the contractor's application; invoice it once the "
            "application is complete",
            code="no_active_policy",
            reason="application",
        )
    if not binds_now(assignment.coverage_path) and assignment.coverage_path != CoveragePath.STANDARD:
        raise invalid(
            f"Assignment {assignment.id} has no bound coverage to invoice",
            code="no_active_policy",
            reason="unbound",
        )
    return assignment


def reprice_estimates(session: Session, tenant: Tenant, job: Job, workflows: WorkflowCalls) -> None:
    """The job's pay changed: every engagement on it with no final pay reported yet is repriced from the new
    estimate, as an invoice would (before the charge: a new notice; after: the difference moves)."""
    estimate = estimated_gross_pay(job.wage, job.wage_type, job.duration_hours)
    assignments = session.scalars(
        scoped(Assignment, tenant).where(Assignment.job_id == job.id, Assignment.cancelled.is_(False))
    ).all()
    for assignment in assignments:
        invoiced = session.scalar(
            scoped(Invoice, tenant).where(Invoice.assignment_id == assignment.id).limit(1)
        )
        owned = binds_now(assignment.coverage_path) or assignment.status == AssignmentStatus.ACTIVE
        premium = premium_cents(estimate, assignment.net_rate)
        if invoiced is None and owned and assignment.dispatched and premium != assignment.premium:
            reprice(session, workflows, assignment, f"{job.id}:estimate", premium, lambda: None)


def _void(invoice: Invoice) -> None:
    invoice.status, invoice.voided_at = InvoiceStatus.VOID, now()


def create_invoice(
    session: Session, tenant: Tenant, body: InvoiceIn, workflows: WorkflowCalls, actor: Actor | None = None
) -> Invoice:
    return save_invoice(session, tenant, body, workflows, actor).invoice


def report_final_pay(
    session: Session,
    tenant: Tenant,
    assignment_id: str,
    fields: dict[str, Any],
    workflows: WorkflowCalls,
    actor: Actor | None = None,
) -> Invoice:
    """Final pay for the assignment of this id (its job's current one): an invoice for its contractor and
    job, as ``POST /invoices``; ``fields`` are InvoiceIn's but those two."""
    row = the_jobs_current(session, tenant, assignment_id)
    body = validated(InvoiceIn, {**fields, "contractor": row.contractor_id, "job": row.job_id})
    return create_invoice(session, tenant, body, workflows, actor)


def save_invoice(
    session: Session, tenant: Tenant, body: InvoiceIn, workflows: WorkflowCalls, actor: Actor | None = None
) -> Saved:
    """A new invoice: the final pay so far (earlier open ones are voided), and the premium repriced. A
    member's is audited with it (and the entry undone with it, should the workflow refuse)."""
    contractor = get_contractor(session, tenant, body.contractor)
    job = get_job(session, tenant, body.job)
    assignment = _billable(session, tenant, contractor.id, job.id)
    purchase_order = body.purchase_order_number
    if purchase_order is None:
        purchase_order = (job.custom_metadata or {}).get("purchase_order_number")
    invoice = Invoice.new(
        tenant,
        contractor_id=contractor.id,
        job_id=job.id,
        assignment_id=assignment.id,
        gross_pay=body.gross_pay,
        paycycle_startdate=body.paycycle_startdate,
        paycycle_enddate=body.paycycle_enddate,
        purchase_order_number=purchase_order or None,
        premium_due=check_premium(premium_cents(body.gross_pay, assignment.net_rate), "gross_pay"),
        status=InvoiceStatus.OPEN,
    )
    open_query = scoped(Invoice, tenant).where(
        Invoice.assignment_id == assignment.id, Invoice.status == InvoiceStatus.OPEN
    )
    replaced = list(session.scalars(open_query))
    for old in replaced:
        _void(old)
    session.add(invoice)
    entry = record_change(
        session,
        tenant,
        actor,
        "invoice.created",
        invoice.id,
        assignment=assignment.id,
        gross_pay=invoice.gross_pay,
        premium_due=invoice.premium_due,
    )

    def undo() -> None:
        invoice.status, invoice.deleted_at = InvoiceStatus.VOID, now()
        for old in replaced:
            old.status, old.voided_at = InvoiceStatus.OPEN, None
        if entry is not None:
            session.delete(entry)

    applied = reprice(session, workflows, assignment, invoice.id, invoice.premium_due, undo)
    return Saved(invoice, pending=not applied)


def _editable(invoice: Invoice, deleting: bool = False) -> None:
    if invoice.status == InvoiceStatus.PAID:
        if deleting:
            raise conflict("invoice_already_paid", f"Invoice {invoice.id} is paid and cannot be deleted")
        raise conflict(
            "invoice_already_paid", f"Invoice {invoice.id} is paid; report the change as a new invoice"
        )
    if invoice.status == InvoiceStatus.VOID and not deleting:
        raise conflict(
            "invoice_uneditable_already_exists", f"Invoice {invoice.id} was replaced by a newer one"
        )


def update_invoice(
    session: Session, tenant: Tenant, invoice_id: str, body: InvoiceUpdate, workflows: WorkflowCalls
) -> Invoice:
    return change_invoice(session, tenant, invoice_id, body, workflows).invoice


def change_invoice(
    session: Session, tenant: Tenant, invoice_id: str, body: InvoiceUpdate, workflows: WorkflowCalls
) -> Saved:
    """Change the pay of an unpaid invoice (the contractor is told of the new premium)."""
    applied = True
    invoice = get_invoice(session, tenant, invoice_id)
    _editable(invoice)
    changes = body.model_dump(exclude_unset=True)
    if "purchase_order_number" in changes:
        invoice.purchase_order_number = changes["purchase_order_number"] or None
    if changes.get("gross_pay") is not None and changes["gross_pay"] != invoice.gross_pay:
        assignment = get_assignment(session, tenant, invoice.assignment_id)
        before = (invoice.gross_pay, invoice.premium_due)
        invoice.gross_pay = changes["gross_pay"]
        premium = premium_cents(invoice.gross_pay, assignment.net_rate)
        invoice.premium_due = check_premium(premium, "gross_pay")

        def undo() -> None:
            invoice.gross_pay, invoice.premium_due = before

        key = f"{invoice.id}:{invoice.gross_pay}"
        applied = reprice(session, workflows, assignment, key, invoice.premium_due, undo)
    session.commit()
    return Saved(invoice, pending=not applied)


def delete_invoice(session: Session, tenant: Tenant, invoice_id: str, workflows: WorkflowCalls) -> Invoice:
    return remove_invoice(session, tenant, invoice_id, workflows).invoice


def remove_invoice(session: Session, tenant: Tenant, invoice_id: str, workflows: WorkflowCalls) -> Saved:
    """Only while unpaid. The premium goes back to the job's estimate."""
    invoice = get_invoice(session, tenant, invoice_id)
    _editable(invoice, deleting=True)
    if invoice.status != InvoiceStatus.OPEN:
        _void(invoice)
        invoice.deleted_at = now()
        session.commit()
        return Saved(invoice)
    assignment = get_assignment(session, tenant, invoice.assignment_id)
    job = get_job(session, tenant, invoice.job_id)
    estimate = premium_cents(
        estimated_gross_pay(job.wage, job.wage_type, job.duration_hours), assignment.net_rate
    )
    _void(invoice)
    invoice.deleted_at = now()

    def undo() -> None:
        invoice.status, invoice.voided_at, invoice.deleted_at = InvoiceStatus.OPEN, None, None

    applied = reprice(session, workflows, assignment, f"{invoice.id}:deleted", estimate, undo)
    return Saved(invoice, pending=not applied)
