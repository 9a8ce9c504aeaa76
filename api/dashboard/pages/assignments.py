"""Assignments: the list (filtered, paginated), one assignment with its eligibility answer, its money and
its workflow in the Temporal UI; create, cancel, extend and report final pay (an invoice). Each action calls
the service POST /assignments, /assignments/cancel, /assignments/extend and POST /invoices call."""

from functools import partial
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy.orm import Session

from api.dashboard import labels
from api.dashboard.amounts import cents
from api.dashboard.auth import CurrentViewer, Operator, Viewer
from api.dashboard.rendering import page, redirect, refused
from api.dashboard.words import page_words
from api.deps import AppSettings, DbSession, Workflows
from common.settings import Settings
from contracts.assignment import assignment_workflow_id
from domain.assignment_actions import settled
from domain.coverage import CoverageType
from domain.errors import DomainError
from domain.statuses import AssignmentStatus
from notifications.render import datetime_utc, money
from services import assignments, invoices
from services.assignment_overview import AssignmentFilters, assignment_overview, list_assignments
from services.assignment_requests import AssignmentRequest, request_assignment
from services.assignments import CANCEL_REASONS
from services.pickers import Choice, Typed
from services.workflow_calls import WorkflowCalls

router = APIRouter()
PER_PAGE = 50
KINDS = ("contractor", "job")  # the fields picked by name


def temporal_link(settings: Settings, assignment_id: str) -> str | None:
    """The assignment's workflow in the Temporal UI (its runs, newest first), if the UI's address is set."""
    if not settings.temporal_ui_url:
        return None
    query = quote(f'WorkflowId="{assignment_workflow_id(assignment_id)}"')
    namespace = quote(settings.temporal_namespace)
    return f"{settings.temporal_ui_url.rstrip('/')}/namespaces/{namespace}/workflows?query={query}"


def _picked(typed: Typed, choice: Choice | None, error: DomainError | None) -> dict[str, Any]:
    """A picker field as the page shows it again: the name chosen (or the text typed), and, when the text
    named several, the choices to tick."""
    if choice is not None:
        return {"text": choice.label, "id": choice.id, "choices": []}
    choices = error.facts.get("choices") if error is not None else None
    return {"text": typed.text, "id": "", "choices": choices if isinstance(choices, list) else []}


def _list(
    request: Request,
    session: Session,
    viewer: Viewer,
    filters: AssignmentFilters,
    after: str | None,
    status: int = 200,
    **context: Any,
) -> Response:
    shown = list_assignments(session, viewer.tenant, filters, after, PER_PAGE)
    problem = next(iter(shown.unresolved.values()), None)
    if problem is not None and "error" not in context:
        context["error"] = page_words(problem)
    shown_pickers = {
        kind: _picked(getattr(filters, kind), shown.picked.get(kind), shown.unresolved.get(kind))
        for kind in KINDS
    }
    query = {"status": filters.status, "state": filters.state, "job_type": filters.job_type}
    for kind, shown_picker in shown_pickers.items():
        query |= {kind: shown_picker["text"], f"{kind}_id": shown_picker["id"]}
    kept = {k: v for k, v in query.items() if v}
    return page(
        request,
        "assignments.html",
        status,
        assignments=shown.listing.rows,
        names=shown.names,
        filters=query,
        filtered=bool(kept),
        filter_pickers=shown_pickers,
        older_url=(
            f"/dashboard/assignments?{urlencode({**kept, 'after': shown.listing.older})}"
            if shown.listing.older
            else None
        ),
        statuses=[(s.value, labels.ASSIGNMENT_STATUS[s]) for s in AssignmentStatus],
        status_words=labels.ASSIGNMENT_STATUS,
        states=labels.STATES,
        job_types=shown.job_types,
        form=context.pop("form", {"bind": True, "coverage_type": [CoverageType.WORKERS_COMP.value]}),
        pickers=context.pop(
            "pickers", {k: {"text": "", "id": "", "choices": []} for k in ("contractor", "job")}
        ),
        coverage_types=list(CoverageType),
        **context,
    )


@router.get("/assignments", response_class=HTMLResponse)
def assignment_list(
    request: Request,
    session: DbSession,
    viewer: CurrentViewer,
    status: Annotated[str, Query(max_length=40)] = "",
    contractor: Annotated[str, Query(max_length=200)] = "",
    contractor_id: Annotated[str, Query(max_length=40)] = "",
    contractor_choice: Annotated[str, Query(max_length=40)] = "",
    job: Annotated[str, Query(max_length=200)] = "",
    job_id: Annotated[str, Query(max_length=40)] = "",
    job_choice: Annotated[str, Query(max_length=40)] = "",
    state: Annotated[str, Query(max_length=2)] = "",
    job_type: Annotated[str, Query(max_length=40)] = "",
    after: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    filters = AssignmentFilters(
        status=status.strip(),
        contractor=Typed(contractor, contractor_choice or contractor_id),
        job=Typed(job, job_choice or job_id),
        state=state.strip().upper(),
        job_type=job_type.strip(),
    )
    return _list(request, session, viewer, filters, after)


@router.post("/assignments")
def create(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    viewer: Operator,
    contractor: Annotated[str, Form(max_length=200)] = "",
    contractor_id: Annotated[str, Form(max_length=40)] = "",
    contractor_choice: Annotated[str, Form(max_length=40)] = "",
    job: Annotated[str, Form(max_length=200)] = "",
    job_id: Annotated[str, Form(max_length=40)] = "",
    job_choice: Annotated[str, Form(max_length=40)] = "",
    effective_date: Annotated[str, Form(max_length=40)] = "",
    end_date: Annotated[str, Form(max_length=40)] = "",
    coverage_type: Annotated[list[str] | None, Form()] = None,
    bind: Annotated[str, Form(max_length=10)] = "",
    confirm: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """A contractor and job named as typed; a likely duplicate of an assignment in force is created only
    once the person confirms it (``confirm``), after seeing the one that exists."""
    terms = {
        "bind": bind == "true",
        "coverage_type": coverage_type or None,
        "effective_date": effective_date or None,
        "end_date": end_date or None,
    }
    asked = AssignmentRequest(
        contractor=Typed(contractor, contractor_choice or contractor_id),
        job=Typed(job, job_choice or job_id),
        terms=terms,
        confirmed=confirm == "true",
    )
    form = {**terms, "effective_date": effective_date, "end_date": end_date}
    form |= {"coverage_type": coverage_type or [], "bind": bind == "true"}
    try:
        done = request_assignment(session, viewer.tenant, asked, settings, viewer.actor)
    except DomainError as error:
        field = error.field if error.field in ("contractor", "job") else None
        pickers = {
            kind: _picked(getattr(asked, kind), None, error if kind == field else None) for kind in KINDS
        }
        for kind in KINDS:  # a pick the refusal is not about is kept as sent (the service checks it again)
            pickers[kind]["id"] = getattr(asked, kind).picked if kind != field else ""
        show = partial(_list, request, session, viewer, AssignmentFilters(), None)
        return refused(session, error, show, form=form, pickers=pickers)
    if done.created is None:  # a likely duplicate: show what exists and ask
        pickers = {
            kind: _picked(getattr(asked, kind), getattr(done, kind), None) for kind in ("contractor", "job")
        }
        return _list(
            request,
            session,
            viewer,
            AssignmentFilters(),
            None,
            status=409,
            form=form,
            pickers=pickers,
            duplicates=done.duplicates,
            duplicate_names=done.names,
        )
    return redirect(f"/dashboard/assignments/{done.created.id}", "created")


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
        live=_live_fields(shown.snapshot),
        watch=not _settled(shown.snapshot),
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


def _live_fields(snapshot: dict[str, Any]) -> dict[str, str]:
    """What the assignment's page shows that its workflow changes, by element id (static/live.js)."""
    due = snapshot.get("charge_due_at")
    return {
        "assignment-status": labels.assignment_status(snapshot["status"]),
        "premium": money(snapshot["premium"]),
        "collected": money(snapshot["premium_collected"]),
        "policy": snapshot.get("policy") or "none yet",
        "charge-due": datetime_utc(due) if due and due > 0 else "none",
    }


def _settled(snapshot: dict[str, Any]) -> bool:
    due = snapshot.get("charge_due_at")
    return settled(snapshot["status"], bool(due and due > 0))


@router.get("/assignments/{assignment_id}/live")
def assignment_live(
    assignment_id: str, session: DbSession, workflows: Workflows, viewer: CurrentViewer
) -> Response:
    """What the assignment's page polls while the assignment waits on something: the fields that change,
    and whether it is settled (the page then stops asking)."""
    shown = assignment_overview(session, viewer.tenant, assignment_id, workflows)
    return JSONResponse({"final": _settled(shown.snapshot), "fields": _live_fields(shown.snapshot)})


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
