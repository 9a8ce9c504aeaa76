"""Invoices: the pay a contractor actually earned on an assignment. The newest one is the final pay: earlier
open invoices are voided, and the assignment's workflow re-prices the premium (before the charge: a new
notice and a new window; after: the difference is charged or refunded)."""

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from pydantic import Field, model_validator
from sqlalchemy.orm import Session

from api import workflow_calls
from api.deps import CurrentTenant, DbSession, Tenant
from api.errors import ApiError, conflict
from api.queries import PageParams, filtered, get_owned, list_page, now, scoped
from api.routers.assignments import current_assignment, workflow_id
from api.routers.contractors import get_contractor
from api.routers.jobs import get_job
from api.schemas import Strict, UnixTime
from common import representations as render
from common.ids import new_id
from db.models import Assignment, Invoice, PremiumAdjustment
from domain.assignment_coverage import CoveragePath
from domain.premium import estimated_gross_pay, premium_cents
from workflows.assignment_messages import AdjustmentResult, InvoiceAdjustment

router = APIRouter(prefix="/invoices", tags=["invoices"])
GrossPay = Field(ge=100, le=100_000_000, description="Cents earned in the pay period (at most $1,000,000)")


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


def _get(session: Session, tenant: Tenant, invoice_id: str) -> Invoice:
    return get_owned(session, Invoice, tenant, invoice_id, "invalid_invoice_id", "invoice")


def _commit_then_reprice(
    request: Request,
    session: Session,
    assignment: Assignment,
    key: str,
    premium: int,
    undo: Callable[[], None],
) -> None:
    """Commit the change with its premium adjustment, then tell the workflow (no write transaction may be held
    while waiting for it: its activities write to the same database); if it refuses, ``undo`` the change and
    re-raise. Should this process die after the commit, the outbox sweep sends the adjustment instead."""
    adjustment = PremiumAdjustment(
        assignment_id=assignment.id, invoice_key=key, premium=premium, created=now()
    )
    session.add(adjustment)
    session.flush()
    sequence = adjustment.id
    session.commit()
    try:
        workflow_calls.update(
            request,
            workflow_id(assignment.id),
            "adjust",
            InvoiceAdjustment(invoice_id=key, premium=premium, sequence=sequence),
            AdjustmentResult,
        )
    except ApiError:
        undo()
        adjustment.dispatched = True
        session.commit()
        raise
    adjustment.dispatched = True
    session.commit()


def _billable(session: Session, tenant: Tenant, contractor: str, job: str) -> Assignment:
    try:
        assignment = current_assignment(session, tenant, contractor, job)
    except ApiError:
        raise ApiError(
            400, "no_active_policy", "The contractor has no assignment with coverage for this job"
        ) from None
    if assignment.coverage_path not in (CoveragePath.EXISTING_POLICY, CoveragePath.GENERAL_OPT_IN):
        raise ApiError(
            400, "no_active_policy", f"Assignment {assignment.id} has no bound coverage to invoice"
        )
    return assignment


@router.post("", status_code=201)
def create_invoice(
    body: InvoiceIn, request: Request, session: DbSession, tenant: CurrentTenant
) -> dict[str, Any]:
    contractor = get_contractor(session, tenant, body.contractor)
    job = get_job(session, tenant, body.job)
    assignment = _billable(session, tenant, contractor.id, job.id)
    purchase_order = body.purchase_order_number
    if purchase_order is None:
        purchase_order = (job.custom_metadata or {}).get("purchase_order_number")
    invoice = Invoice(
        id=new_id("invoice"),
        organization_id=tenant.organization_id,
        environment=tenant.environment,
        created=now(),
        contractor_id=contractor.id,
        job_id=job.id,
        assignment_id=assignment.id,
        gross_pay=body.gross_pay,
        paycycle_startdate=body.paycycle_startdate,
        paycycle_enddate=body.paycycle_enddate,
        purchase_order_number=purchase_order or None,
        premium_due=premium_cents(body.gross_pay, assignment.net_rate),
        status="open",
    )
    replaced = list(
        session.scalars(
            scoped(Invoice, tenant).where(Invoice.assignment_id == assignment.id, Invoice.status == "open")
        )
    )
    for old in replaced:
        old.status, old.voided_at = "void", now()
    session.add(invoice)

    def undo() -> None:
        invoice.status, invoice.deleted_at = "void", now()
        for old in replaced:
            old.status, old.voided_at = "open", None

    _commit_then_reprice(request, session, assignment, invoice.id, invoice.premium_due, undo)
    return render.invoice(invoice)


@router.get("")
def list_invoices(
    session: DbSession,
    tenant: CurrentTenant,
    page: PageParams,
    contractor: str | None = None,
    job: str | None = None,
) -> list[dict[str, Any]]:
    query = filtered(scoped(Invoice, tenant), {Invoice.contractor_id: contractor, Invoice.job_id: job})
    return [render.invoice(i) for i in list_page(session, query, Invoice, page)]


@router.get("/{invoice_id}")
def retrieve_invoice(invoice_id: str, session: DbSession, tenant: CurrentTenant) -> dict[str, Any]:
    return render.invoice(_get(session, tenant, invoice_id))


@router.put("/{invoice_id}")
def update_invoice(
    invoice_id: str, body: InvoiceUpdate, request: Request, session: DbSession, tenant: CurrentTenant
) -> dict[str, Any]:
    """Change the pay of an unpaid invoice (the contractor is told of the new premium)."""
    invoice = _get(session, tenant, invoice_id)
    if invoice.status == "paid":
        raise conflict(
            "invoice_already_paid", f"Invoice {invoice.id} is paid; report the change as a new invoice"
        )
    if invoice.status == "void":
        raise conflict(
            "invoice_uneditable_already_exists", f"Invoice {invoice.id} was replaced by a newer one"
        )
    changes = body.model_dump(exclude_unset=True)
    if "purchase_order_number" in changes:
        invoice.purchase_order_number = changes["purchase_order_number"] or None
    if changes.get("gross_pay") is not None and changes["gross_pay"] != invoice.gross_pay:
        assignment = get_owned(
            session, Assignment, tenant, invoice.assignment_id, "invalid_assignment_id", "assignment"
        )
        before = (invoice.gross_pay, invoice.premium_due)
        invoice.gross_pay = changes["gross_pay"]
        invoice.premium_due = premium_cents(invoice.gross_pay, assignment.net_rate)

        def undo() -> None:
            invoice.gross_pay, invoice.premium_due = before

        _commit_then_reprice(
            request, session, assignment, f"{invoice.id}:{invoice.gross_pay}", invoice.premium_due, undo
        )
    session.commit()
    return render.invoice(invoice)


@router.delete("/{invoice_id}")
def delete_invoice(
    invoice_id: str, request: Request, session: DbSession, tenant: CurrentTenant
) -> dict[str, Any]:
    """Only while unpaid. The premium goes back to the job's estimate."""
    invoice = _get(session, tenant, invoice_id)
    if invoice.status == "paid":
        raise conflict("invoice_already_paid", f"Invoice {invoice.id} is paid and cannot be deleted")
    if invoice.status == "open":
        assignment = get_owned(
            session, Assignment, tenant, invoice.assignment_id, "invalid_assignment_id", "assignment"
        )
        job = get_job(session, tenant, invoice.job_id)
        estimate = premium_cents(
            estimated_gross_pay(job.wage, job.wage_type, job.duration_hours), assignment.net_rate
        )
        invoice.status, invoice.voided_at, invoice.deleted_at = "void", now(), now()

        def undo() -> None:
            invoice.status, invoice.voided_at, invoice.deleted_at = "open", None, None

        _commit_then_reprice(request, session, assignment, f"{invoice.id}:deleted", estimate, undo)
        return {"id": invoice.id, "object": "invoice", "deleted": True, "deleted_at": invoice.deleted_at}
    invoice.status, invoice.voided_at, invoice.deleted_at = "void", now(), now()
    session.commit()
    return {"id": invoice.id, "object": "invoice", "deleted": True, "deleted_at": invoice.deleted_at}
