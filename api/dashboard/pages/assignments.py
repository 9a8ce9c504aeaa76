"""Assignments: the list (filtered, paginated), one assignment with its eligibility answer, its money and
its workflow in the Temporal UI; create, cancel, extend and report final pay (an invoice). Each action calls
the service POST /assignments, /assignments/cancel, /assignments/extend and POST /invoices call."""

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.dashboard.amounts import cents
from api.dashboard.auth import CurrentViewer, Operator, Viewer
from api.dashboard.paging import page_after
from api.dashboard.rendering import form_model, page, redirect
from api.deps import AppSettings, DbSession, Workflows
from api.errors import STATUS_OF
from common.settings import Settings
from contracts.assignment import assignment_workflow_id
from db.models import Assignment, Contractor, Invoice, Job
from domain.coverage import CoverageType
from domain.errors import DomainError, invalid
from domain.statuses import AssignmentStatus
from services import assignments, invoices
from services.assignment_money import money_moved
from services.assignments import AssignmentIn, CancelIn, ExtendIn, current_assignment
from services.invoices import InvoiceIn
from services.lookups import Page, filtered, get_assignment, list_page, now, scoped
from services.tenancy import Tenant
from services.workflow_calls import WorkflowCalls

router = APIRouter()
PER_PAGE = 50
CANCEL_REASONS = ["client_request", "contractor_request", "other"]


def temporal_link(settings: Settings, assignment_id: str) -> str | None:
    """The assignment's workflow in the Temporal UI (its runs, newest first), if the UI's address is set."""
    if not settings.temporal_ui_url:
        return None
    query = quote(f'WorkflowId="{assignment_workflow_id(assignment_id)}"')
    namespace = quote(settings.temporal_namespace)
    return f"{settings.temporal_ui_url.rstrip('/')}/namespaces/{namespace}/workflows?query={query}"


def _choices(session: Session, tenant: Tenant) -> dict[str, Any]:
    """The newest contractors and jobs, offered as suggestions in the form (any id may be typed)."""
    contractors = session.scalars(scoped(Contractor, tenant).order_by(Contractor.seq.desc()).limit(50))
    jobs = session.scalars(scoped(Job, tenant).order_by(Job.seq.desc()).limit(50))
    return {"contractors": list(contractors), "jobs": list(jobs), "coverage_types": list(CoverageType)}


def _names(session: Session, rows: list[Assignment]) -> dict[str, str]:
    contractor_ids = {r.contractor_id for r in rows}
    job_ids = {r.job_id for r in rows}
    names = {
        c.id: f"{c.first_name} {c.last_name}"
        for c in session.scalars(select(Contractor).where(Contractor.id.in_(contractor_ids)))
    }
    names |= {j.id: j.name for j in session.scalars(select(Job).where(Job.id.in_(job_ids)))}
    return names


def _list(
    request: Request,
    session: Session,
    viewer: Viewer,
    filters: dict[str, str],
    after: str | None,
    status_code: int = 200,
    **context: Any,
) -> Response:
    query = filtered(
        scoped(Assignment, viewer.tenant),
        {
            Assignment.status: filters.get("status") or None,
            Assignment.contractor_id: filters.get("contractor") or None,
            Assignment.job_id: filters.get("job") or None,
        },
    )
    rows, older = page_after(
        lambda limit: list_page(session, query, Assignment, Page(limit=limit, starting_after=after or None)),
        PER_PAGE,
    )
    return page(
        request,
        "assignments.html",
        status_code,
        assignments=rows,
        names=_names(session, rows),
        filters=filters,
        statuses=list(AssignmentStatus),
        older=older,
        form=context.pop("form", {"bind": True, "coverage_type": [CoverageType.WORKERS_COMP.value]}),
        **_choices(session, viewer.tenant),
        **context,
    )


@router.get("/assignments", response_class=HTMLResponse)
def assignment_list(
    request: Request,
    session: DbSession,
    viewer: CurrentViewer,
    status: str = "",
    contractor: str = "",
    job: str = "",
    after: str = "",
) -> Response:
    filters = {"status": status.strip(), "contractor": contractor.strip(), "job": job.strip()}
    return _list(request, session, viewer, filters, after)


@router.post("/assignments")
def create(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    viewer: Operator,
    contractor: Annotated[str, Form(max_length=40)] = "",
    job: Annotated[str, Form(max_length=40)] = "",
    effective_date: Annotated[str, Form(max_length=40)] = "",
    end_date: Annotated[str, Form(max_length=40)] = "",
    coverage_type: Annotated[list[str] | None, Form()] = None,
    bind: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    fields = {
        "contractor": contractor,
        "job": job,
        "bind": bind == "true",
        "coverage_type": coverage_type or None,
        "effective_date": effective_date or None,
        "end_date": end_date or None,
    }
    try:
        body = form_model(AssignmentIn, **fields)
        row = assignments.create_assignment(session, viewer.tenant, body, settings)
    except DomainError as error:
        session.rollback()
        form = {**fields, "coverage_type": coverage_type or [], "bind": bind == "true"}
        return _list(
            request, session, viewer, {}, None, STATUS_OF[error.kind], error=error.message, form=form
        )
    viewer.audit(
        session,
        "assignment.created",
        row.id,
        contractor=row.contractor_id,
        job=row.job_id,
        eligible=row.eligible_result,
    )
    session.commit()
    return redirect(f"/dashboard/assignments/{row.id}", "created")


def _detail(
    request: Request,
    session: Session,
    settings: Settings,
    workflows: WorkflowCalls,
    viewer: Viewer,
    assignment_id: str,
    status_code: int = 200,
    **context: Any,
) -> Response:
    tenant = viewer.tenant
    row = get_assignment(session, tenant, assignment_id)
    snapshot = assignments.assignment_snapshot(row, workflows)
    invoice_rows = list(
        session.scalars(scoped(Invoice, tenant).where(Invoice.assignment_id == row.id).order_by(Invoice.seq))
    )
    current = current_assignment(session, tenant, None, row.job_id)
    acts_on_job = current is not None and current.id == row.id
    return page(
        request,
        "assignment.html",
        status_code,
        a=snapshot,
        row=row,
        names=_names(session, [row]),
        invoices=invoice_rows,
        moved=money_moved(session, tenant, row),
        temporal_url=temporal_link(settings, row.id),
        may_cancel=acts_on_job and not row.cancelled and row.effective_date > now(),
        may_extend=acts_on_job
        and row.status not in (AssignmentStatus.CANCELLED, AssignmentStatus.EXPIRED)
        and not row.cancelled,
        may_invoice=acts_on_job and not row.cancelled,
        cancel_reasons=CANCEL_REASONS,
        **context,
    )


@router.get("/assignments/{assignment_id}", response_class=HTMLResponse)
def assignment_page(
    request: Request,
    assignment_id: str,
    session: DbSession,
    settings: AppSettings,
    workflows: Workflows,
    viewer: CurrentViewer,
) -> Response:
    return _detail(request, session, settings, workflows, viewer, assignment_id)


def _the_jobs_current(session: Session, tenant: Tenant, assignment_id: str) -> Assignment:
    """The services cancel, extend and invoice a job's current assignment (the API names it by its job): the
    dashboard names an assignment, so it refuses when another assignment is now its job's current one. When
    the job has none left, the service refuses as the API does."""
    row = get_assignment(session, tenant, assignment_id)
    current = current_assignment(session, tenant, None, row.job_id)
    if current is not None and current.id != row.id:
        raise invalid(f"Assignment {row.id} was replaced: {current.id} is its job's current assignment")
    return row


def _refused(
    request: Request,
    session: Session,
    settings: Settings,
    workflows: WorkflowCalls,
    viewer: Viewer,
    assignment_id: str,
    error: DomainError,
    **form: Any,
) -> Response:
    status = STATUS_OF[error.kind]
    if status == 404:  # another organization's assignment: the not-found page, as the API answers 404
        raise error  # (the session is rolled back as it closes; the page still reads the member)
    session.rollback()
    return _detail(
        request, session, settings, workflows, viewer, assignment_id, status, error=error.message, **form
    )


@router.post("/assignments/{assignment_id}/cancel")
def cancel(
    request: Request,
    assignment_id: str,
    session: DbSession,
    settings: AppSettings,
    workflows: Workflows,
    viewer: Operator,
    reason: Annotated[str, Form(max_length=40)] = "client_request",
) -> Response:
    try:
        row = _the_jobs_current(session, viewer.tenant, assignment_id)
        body = form_model(CancelIn, job_id=row.job_id, reason=reason)
        assignments.cancel_assignment(session, viewer.tenant, body, workflows)
    except DomainError as error:
        return _refused(request, session, settings, workflows, viewer, assignment_id, error)
    viewer.audit(session, "assignment.cancelled", assignment_id, reason=reason)
    session.commit()
    return redirect(f"/dashboard/assignments/{assignment_id}", "cancelled")


@router.post("/assignments/{assignment_id}/extend")
def extend(
    request: Request,
    assignment_id: str,
    session: DbSession,
    settings: AppSettings,
    workflows: Workflows,
    viewer: Operator,
    end_date: Annotated[str, Form(max_length=40)] = "",
    send_email: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    try:
        row = _the_jobs_current(session, viewer.tenant, assignment_id)
        body = form_model(ExtendIn, job_id=row.job_id, end_date=end_date, send_email=send_email == "true")
        extended = assignments.extend_assignment(session, viewer.tenant, body, workflows, settings)
    except DomainError as error:
        return _refused(
            request,
            session,
            settings,
            workflows,
            viewer,
            assignment_id,
            error,
            extend_form={"end_date": end_date},
        )
    viewer.audit(
        session, "assignment.extended", assignment_id, end_date=extended.end_date, send_email=body.send_email
    )
    session.commit()
    return redirect(f"/dashboard/assignments/{assignment_id}", "extended")


@router.post("/assignments/{assignment_id}/final-pay")
def report_final_pay(
    request: Request,
    assignment_id: str,
    session: DbSession,
    settings: AppSettings,
    workflows: Workflows,
    viewer: Operator,
    gross_pay: Annotated[str, Form(max_length=40)] = "",
    paycycle_startdate: Annotated[str, Form(max_length=40)] = "",
    paycycle_enddate: Annotated[str, Form(max_length=40)] = "",
    purchase_order_number: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Final pay is an invoice for the assignment's contractor and job (POST /invoices): the assignment's
    workflow reprices the premium and charges, refunds or bills the difference."""
    form = {
        "gross_pay": gross_pay,
        "paycycle_startdate": paycycle_startdate,
        "paycycle_enddate": paycycle_enddate,
        "purchase_order_number": purchase_order_number,
    }
    try:
        row = _the_jobs_current(session, viewer.tenant, assignment_id)
        body = form_model(
            InvoiceIn,
            contractor=row.contractor_id,
            job=row.job_id,
            gross_pay=cents(gross_pay, "gross_pay"),
            paycycle_startdate=paycycle_startdate,
            paycycle_enddate=paycycle_enddate,
            purchase_order_number=purchase_order_number or None,
        )
        invoice = invoices.create_invoice(session, viewer.tenant, body, workflows)
    except DomainError as error:
        return _refused(
            request, session, settings, workflows, viewer, assignment_id, error, invoice_form=form
        )
    viewer.audit(
        session,
        "invoice.created",
        invoice.id,
        assignment=assignment_id,
        gross_pay=invoice.gross_pay,
        premium_due=invoice.premium_due,
    )
    session.commit()
    return redirect(f"/dashboard/assignments/{assignment_id}", "final_pay_reported")
