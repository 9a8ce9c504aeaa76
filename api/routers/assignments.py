from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from api import workflow_calls
from api.deps import CurrentTenant, DbSession, Tenant
from api.errors import ApiError, conflict, invalid_input, not_found
from api.queries import PageParams, filtered, get_owned, list_page, now, scoped
from api.routers.application_sessions import SessionIn, finished_url, open_session
from api.routers.contractors import get_contractor
from api.routers.jobs import get_job
from api.routers.quotes import rate_quote_into, work_state_of
from api.schemas import Strict, UnixTime
from common import representations as render
from common.ids import new_id
from db.catalog import rate_card
from db.models import (
    ApplicationSession,
    Assignment,
    CategoryApproval,
    Invoice,
    Job,
    JobCategory,
    Policy,
    Quote,
)
from domain.assignment_coverage import CoveragePath, PolicyOnFile, decide_coverage
from domain.coverage import CoverageType
from domain.dates import MAX_TERM, CoverageDateError, coverage_period
from domain.payer import premium_is_withheld
from domain.premium import estimated_gross_pay, premium_cents
from domain.rating import rate_quote
from outbox.dispatch import workflow_id as outbox_workflow_id
from outbox.records import start_after_commit
from workflows.assignment_messages import AssignmentState

router = APIRouter(prefix="/assignments", tags=["assignments"])


class AssignmentIn(Strict):
    contractor: str
    job: str
    bind: bool = True
    coverage_type: list[CoverageType] | None = Field(None, min_length=1)
    effective_date: UnixTime | None = None
    end_date: UnixTime | None = None
    policy: str | None = None


class AssignmentUpdate(Strict):
    effective_date: UnixTime | None = None
    end_date: UnixTime | None = None


class CancelIn(Strict):
    job_id: str
    reason: Literal["client_request", "contractor_request", "other"] = "client_request"


class ExtendIn(Strict):
    job_id: str
    end_date: UnixTime
    send_email: bool = True


def workflow_id(assignment_id: str) -> str:
    return outbox_workflow_id(("assignment", assignment_id))


def get_assignment(session: Session, tenant: Tenant, assignment_id: str) -> Assignment:
    return get_owned(session, Assignment, tenant, assignment_id, "invalid_assignment_id", "assignment")


def current_assignment(
    session: Session, tenant: Tenant, contractor_id: str | None, job_id: str
) -> Assignment:
    query = scoped(Assignment, tenant).where(Assignment.job_id == job_id, Assignment.cancelled.is_(False))
    if contractor_id:
        query = query.where(Assignment.contractor_id == contractor_id)
    found = session.scalar(query.order_by(Assignment.seq.desc()).limit(1))
    if found is None:
        raise not_found("invalid_assignment_id", "assignment for job", job_id)
    return found


def _policies_on_file(session: Session, tenant: Tenant, contractor_id: str) -> list[PolicyOnFile]:
    rows = session.execute(
        select(Policy, Quote, Job)
        .join(Quote, Quote.id == Policy.quote_id)
        .join(Job, Job.id == Quote.job_id)
        .where(
            Policy.organization_id == tenant.organization_id,
            Policy.environment == tenant.environment,
            Policy.contractor_id == contractor_id,
            Policy.status == "active",
            Policy.deleted_at.is_(None),
        )
    )
    return [
        PolicyOnFile(
            p.id, j.category_id, q.work_state, frozenset(q.coverage_type), p.effective_date, p.expiration_date
        )
        for p, q, j in rows
    ]


def _completed_opt_ins(session: Session, tenant: Tenant, contractor_id: str) -> dict[str, str]:
    rows = session.scalars(
        scoped(ApplicationSession, tenant)
        .where(
            ApplicationSession.contractor_id == contractor_id,
            ApplicationSession.is_general_opt_in.is_(True),
            ApplicationSession.status == "APPLICATION_COMPLETE",
        )
        .order_by(ApplicationSession.seq)
    )
    return {row.work_state: row.id for row in rows}


@router.post("", status_code=201)
def create_assignment(
    body: AssignmentIn, request: Request, session: DbSession, tenant: CurrentTenant
) -> dict[str, Any]:
    """Coverage for a contractor's next job: reuse, general opt-in or a new application (see ``eligible``)."""
    contractor = get_contractor(session, tenant, body.contractor)
    job = get_job(session, tenant, body.job)
    category = session.get(JobCategory, job.category_id)
    assert category is not None
    try:
        period = coverage_period(now(), body.effective_date, body.end_date)
    except CoverageDateError as error:
        code = "effective_date_invalid" if error.field == "effective_date" else "end_date_invalid"
        raise ApiError(400, code, f"{error.field}: {error}") from None
    policies = _policies_on_file(session, tenant, contractor.id)
    if body.policy:
        policies = [p for p in policies if p.policy_id == body.policy]
        if not policies:
            raise not_found("invalid_policy_id", "active policy", body.policy)
    latest = max(policies, key=lambda p: p.effective_date, default=None)
    coverage = sorted(
        {c.value for c in body.coverage_type}
        if body.coverage_type
        else (latest.coverage_types if latest else {"workers-comp"})
    )
    work_state = work_state_of(job, contractor)
    approved = session.get(CategoryApproval, (tenant.organization_id, category.id)) is not None
    decision = decide_coverage(
        requested=coverage,
        category_id=category.id,
        category_approved=approved,
        work_state=work_state,
        start=period.effective_date,
        end=period.end_date,
        bind=body.bind,
        policies=policies,
        completed_opt_ins=_completed_opt_ins(session, tenant, contractor.id),
    )
    rating = rate_quote(
        rate_card(session, category.id),
        category.name,
        [CoverageType(c) for c in coverage],
        work_state=work_state,
        residence_state=contractor.address["region"],
    )
    eligible, message = decision.binds_now, decision.message
    if decision.binds_now and not rating.eligible:
        eligible, message = False, f"Cannot bind: {rating.message}"
    payer = (
        "remit"
        if premium_is_withheld(
            job.withhold_premium, contractor.withhold_premium, tenant.organization.withhold_premium
        )
        else "card"
    )
    gross = estimated_gross_pay(job.wage, job.wage_type, job.duration_hours)
    row = Assignment(
        id=new_id("assignment"),
        organization_id=tenant.organization_id,
        environment=tenant.environment,
        created=now(),
        contractor_id=contractor.id,
        job_id=job.id,
        policy_id=decision.policy_id,
        coverage_type=coverage,
        effective_date=period.effective_date,
        end_date=period.end_date,
        bind=body.bind,
        coverage_path=decision.path.value
        if eligible or not decision.binds_now
        else CoveragePath.NOT_BOUND.value,
        eligible_result=eligible,
        eligible_message=message,
        payer=payer,
        net_rate=rating.rates.net_rate,
        premium=premium_cents(gross, rating.rates.net_rate),
        status="pending",
        charged=0,
        certificates={},
        cancelled=False,
        dispatched=False,
    )
    if decision.path is CoveragePath.STANDARD:
        row.status = "awaiting_application"
        quote = Quote(
            id=new_id("quote"),
            organization_id=tenant.organization_id,
            environment=tenant.environment,
            created=now(),
            contractor_id=contractor.id,
            job_id=job.id,
        )
        rate_quote_into(
            session,
            tenant,
            quote,
            period.effective_date,
            period.end_date,
            [CoverageType(c) for c in coverage],
        )
        session.add(quote)
        if quote.eligible:
            finished = finished_url(request.app.state.settings)
            application = open_session(
                SessionIn(quote=quote.id, success_url=finished, cancel_url=finished, send_email=True),
                request.app.state.settings,
                session,
                tenant,
            )
            row.application_session_id = application.id
    elif decision.path is CoveragePath.NOT_BOUND or not eligible:
        row.status = "not_bound"
    session.add(row)
    if row.coverage_path in (CoveragePath.EXISTING_POLICY, CoveragePath.GENERAL_OPT_IN):
        start_after_commit(session, ("assignment", row.id))
    session.commit()
    return render.assignment(row)


@router.get("")
def list_assignments(
    session: DbSession,
    tenant: CurrentTenant,
    page: PageParams,
    contractor: str | None = None,
    job: str | None = None,
) -> list[dict[str, Any]]:
    query = filtered(
        scoped(Assignment, tenant), {Assignment.contractor_id: contractor, Assignment.job_id: job}
    )
    return [render.assignment(a) for a in list_page(session, query, Assignment, page)]


@router.get("/{assignment_id}")
def retrieve_assignment(
    assignment_id: str, request: Request, session: DbSession, tenant: CurrentTenant
) -> dict[str, Any]:
    row = get_assignment(session, tenant, assignment_id)
    body = render.assignment(row)
    if row.dispatched and not row.cancelled:
        live = workflow_calls.query(request, workflow_id(row.id), "state", AssignmentState)
        if live is not None:
            body |= {
                "status": live.status,
                "premium": live.premium,
                "premium_collected": live.collected,
                "charge_due_at": live.charge_due_at,
            }
    return body


@router.put("/{assignment_id}")
def update_assignment(
    assignment_id: str, body: AssignmentUpdate, session: DbSession, tenant: CurrentTenant
) -> dict[str, Any]:
    """Allowed until the assignment's invoice is paid; a bound assignment's end date moves with /extend."""
    row = get_assignment(session, tenant, assignment_id)
    paid = session.scalar(
        scoped(Invoice, tenant).where(Invoice.assignment_id == row.id, Invoice.status == "paid")
    )
    if paid is not None:
        raise conflict("invoice_already_paid", f"Assignment {row.id} has a paid invoice ({paid.id})")
    changes = body.model_dump(exclude_unset=True)
    if "end_date" in changes and row.coverage_path != CoveragePath.NOT_BOUND:
        raise invalid_input("end_date: a bound assignment's end date changes with POST /assignments/extend")
    try:
        period = coverage_period(
            now(), changes.get("effective_date", row.effective_date), changes.get("end_date", row.end_date)
        )
    except CoverageDateError as error:
        code = "effective_date_invalid" if error.field == "effective_date" else "end_date_invalid"
        raise ApiError(400, code, f"{error.field}: {error}") from None
    row.effective_date, row.end_date = period.effective_date, period.end_date
    session.commit()
    return render.assignment(row)


def _cancel(request: Request, session: Session, row: Assignment, reason: str) -> dict[str, Any]:
    if row.dispatched:
        workflow_calls.update(request, workflow_id(row.id), "cancel", reason, AssignmentState)
        session.refresh(row)
    row.cancelled, row.cancellation_date, row.cancellation_reason = True, now(), reason
    row.status = "cancelled"
    session.commit()
    return render.assignment(row)


@router.post("/cancel")
def cancel_assignment(
    body: CancelIn, request: Request, session: DbSession, tenant: CurrentTenant
) -> dict[str, Any]:
    """Only before the assignment starts; refunds the card (or credits the organization). Irreversible."""
    row = current_assignment(session, tenant, None, get_job(session, tenant, body.job_id).id)
    if row.effective_date <= now():
        raise invalid_input("job_id: an assignment can only be cancelled before its start date")
    return _cancel(request, session, row, body.reason)


@router.post("/extend")
def extend_assignment(
    body: ExtendIn, request: Request, session: DbSession, tenant: CurrentTenant
) -> dict[str, Any]:
    row = current_assignment(session, tenant, None, get_job(session, tenant, body.job_id).id)
    if row.status in ("cancelled", "expired"):
        raise invalid_input(f"job_id: the assignment is {row.status}")
    if body.end_date < row.end_date:
        raise ApiError(400, "end_date_invalid", "end_date: an assignment cannot be shortened")
    if body.end_date > row.effective_date + MAX_TERM:
        raise ApiError(400, "end_date_invalid", "end_date: at most one year after the effective date")
    if body.end_date != row.end_date:
        row.end_date = body.end_date
        if row.dispatched:
            workflow_calls.update(request, workflow_id(row.id), "extend", body.end_date, AssignmentState)
        session.commit()
    return render.assignment(row)


@router.delete("/{assignment_id}")
def delete_assignment(
    assignment_id: str, request: Request, session: DbSession, tenant: CurrentTenant
) -> dict[str, Any]:
    row = get_assignment(session, tenant, assignment_id)
    if not row.cancelled and row.status == "active" and row.effective_date <= now():
        raise conflict("bad_request", f"Assignment {row.id} has started; its coverage cannot be deleted")
    if not row.cancelled:
        _cancel(request, session, row, "deleted")
    row.deleted_at = now()
    session.commit()
    return {"id": row.id, "object": "assignment", "deleted": True, "deleted_at": row.deleted_at}
