"""Assignments: the list (filtered, paginated), one assignment with its eligibility answer, its money and
its workflow in the Temporal UI; create, cancel, extend and report final pay (an invoice). Each action calls
the service POST /assignments, /assignments/cancel, /assignments/extend and POST /invoices call."""

from functools import partial
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from api.dashboard.amounts import cents
from api.dashboard.auth import CurrentViewer, Operator, Viewer
from api.dashboard.rendering import form_model, page, redirect, refused
from api.deps import AppSettings, DbSession, Workflows
from common.settings import Settings
from contracts.assignment import assignment_workflow_id
from domain.coverage import CoverageType
from domain.errors import DomainError
from domain.statuses import AssignmentStatus
from services import assignments, invoices
from services.assignment_overview import assignment_overview, list_assignments
from services.assignments import CANCEL_REASONS, AssignmentIn
from services.workflow_calls import WorkflowCalls

router = APIRouter()
PER_PAGE = 50


def temporal_link(settings: Settings, assignment_id: str) -> str | None:
    """The assignment's workflow in the Temporal UI (its runs, newest first), if the UI's address is set."""
    if not settings.temporal_ui_url:
        return None
    query = quote(f'WorkflowId="{assignment_workflow_id(assignment_id)}"')
    namespace = quote(settings.temporal_namespace)
    return f"{settings.temporal_ui_url.rstrip('/')}/namespaces/{namespace}/workflows?query={query}"


def _list(
    request: Request,
    session: Session,
    viewer: Viewer,
    filters: dict[str, str],
    after: str | None,
    status: int = 200,
    **context: Any,
) -> Response:
    shown = list_assignments(session, viewer.tenant, filters, after, PER_PAGE)
    return page(
        request,
        "assignments.html",
        status,
        assignments=shown.listing.rows,
        names=shown.names,
        filters=filters,
        statuses=list(AssignmentStatus),
        older=shown.listing.older,
        form=context.pop("form", {"bind": True, "coverage_type": [CoverageType.WORKERS_COMP.value]}),
        contractors=shown.contractors,
        jobs=shown.jobs,
        coverage_types=list(CoverageType),
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
        row = assignments.create_assignment(session, viewer.tenant, body, settings, viewer.actor)
    except DomainError as error:
        form = {**fields, "coverage_type": coverage_type or [], "bind": bind == "true"}
        return refused(session, error, partial(_list, request, session, viewer, {}, None), form=form)
    return redirect(f"/dashboard/assignments/{row.id}", "created")


def _detail(
    request: Request,
    session: Session,
    settings: Settings,
    workflows: WorkflowCalls,
    viewer: Viewer,
    assignment_id: str,
    status: int = 200,
    **context: Any,
) -> Response:
    shown = assignment_overview(session, viewer.tenant, assignment_id, workflows)
    return page(
        request,
        "assignment.html",
        status,
        a=shown.snapshot,
        row=shown.row,
        names=shown.names,
        invoices=shown.invoices,
        moved=shown.moved,
        temporal_url=temporal_link(settings, shown.row.id),
        may_cancel=shown.may_cancel,
        may_extend=shown.may_extend,
        may_invoice=shown.may_invoice,
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


def _again(
    request: Request,
    session: Session,
    settings: Settings,
    workflows: WorkflowCalls,
    viewer: Viewer,
    assignment_id: str,
    error: DomainError,
    **form: Any,
) -> Response:
    """The assignment's page with the refusal; another organization's assignment: the not-found page, as the
    API answers 404."""
    show = partial(_detail, request, session, settings, workflows, viewer, assignment_id)
    return refused(session, error, show, not_found_page=True, **form)


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
        assignments.cancel_named(session, viewer.tenant, assignment_id, reason, workflows, viewer.actor)
    except DomainError as error:
        return _again(request, session, settings, workflows, viewer, assignment_id, error)
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
    fields = {"end_date": end_date, "send_email": send_email == "true"}
    try:
        assignments.extend_named(
            session, viewer.tenant, assignment_id, fields, workflows, settings, viewer.actor
        )
    except DomainError as error:
        form = {"extend_form": {"end_date": end_date}}
        return _again(request, session, settings, workflows, viewer, assignment_id, error, **form)
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
        fields = {**form, "gross_pay": cents(gross_pay, "gross_pay")}
        fields["purchase_order_number"] = purchase_order_number or None
        invoices.report_final_pay(session, viewer.tenant, assignment_id, fields, workflows, viewer.actor)
    except DomainError as error:
        return _again(request, session, settings, workflows, viewer, assignment_id, error, invoice_form=form)
    return redirect(f"/dashboard/assignments/{assignment_id}", "final_pay_reported")
