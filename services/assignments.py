"""Assignments: coverage for a contractor's next job, decided at once (reuse a policy on file, bind from a
general opt-in, or send an application) and carried out by the assignment's workflow."""

import contextlib
import hashlib
from dataclasses import dataclass
from typing import Any, Literal, get_args

from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from common.schemas import Strict, UnixTime
from common.settings import Settings
from common.validation import validated
from contracts.application import EXPIRE, application_workflow_id
from contracts.assignment import (
    ASSIGNMENT_STATE,
    CANCEL,
    EXTEND,
    REBIND,
    NewTerms,
    assignment_workflow_id,
)
from db.models import (
    CHARGE_DUE_UNKNOWN,
    ApplicationSession,
    Assignment,
    Contractor,
    Invoice,
    Job,
    JobCategory,
    Policy,
    Quote,
)
from domain.application import Status
from domain.assignment_actions import may_cancel, may_extend
from domain.assignment_coverage import (
    ApplicationOnFile,
    CoverageDecision,
    CoveragePath,
    Engagement,
    PolicyOnFile,
    binds_now,
    decide_coverage,
)
from domain.coverage import CoverageType, work_state
from domain.dates import MAX_TERM, CoveragePeriod, coverage_period
from domain.errors import DomainError, conflict, invalid, not_found
from domain.payer import Payer, payer
from domain.rating import Rating
from domain.statuses import AssignmentStatus, InvoiceStatus, PolicyStatus
from notifications.catalog import CoverageExtended, EmailKind
from outbox.records import enqueue_email, record_event, start_after_commit
from services import representations as render
from services.applications import SessionIn, finished_url, open_session
from services.audit import Actor, record_change
from services.catalog import is_approved
from services.lookups import card_on_file, get_assignment, get_contractor, get_job, now, scoped
from services.policies import cover_through
from services.quotes import coverage_list, offer, priced, rating_of, refuse_state_fund_coverage
from services.tenancy import Tenant
from services.workflow_calls import WorkflowCalls


class AssignmentIn(Strict):
    contractor: str
    job: str
    bind: bool = True
    coverage_type: list[CoverageType] | None = Field(None, min_length=1)
    effective_date: UnixTime | None = None
    end_date: UnixTime | None = None
    policy: str | None = None


class AssignmentUpdate(Strict):
    """1099Policy's update: the terms of an assignment, changeable until its premium is collected."""

    contractor: str | None = None
    job: str | None = None
    coverage_type: list[CoverageType] | None = Field(None, min_length=1)
    bind: bool | None = None
    policy: str | None = None
    effective_date: UnixTime | None = None
    end_date: UnixTime | None = None


TERMS = ("contractor", "job", "coverage_type", "bind", "policy")


CancelReason = Literal["client_request", "contractor_request", "other"]
CANCEL_REASONS: list[str] = list(get_args(CancelReason))


class CancelIn(Strict):
    job_id: str
    reason: CancelReason = "client_request"


class ExtendIn(Strict):
    job_id: str
    end_date: UnixTime
    send_email: bool = True


def current_assignment(
    session: Session, tenant: Tenant, contractor_id: str | None, job_id: str
) -> Assignment | None:
    """The newest assignment of the job (of that contractor, if given) that is not cancelled."""
    query = scoped(Assignment, tenant).where(Assignment.job_id == job_id, Assignment.cancelled.is_(False))
    if contractor_id:
        query = query.where(Assignment.contractor_id == contractor_id)
    return session.scalar(query.order_by(Assignment.seq.desc()).limit(1))


def _assignment_of_job(session: Session, tenant: Tenant, job_id: str) -> Assignment:
    found = current_assignment(session, tenant, None, get_job(session, tenant, job_id).id)
    if found is None:
        raise not_found("invalid_assignment_id", "assignment for job", job_id)
    return found


def policies_on_file(session: Session, tenant: Tenant, contractor_id: str) -> list[PolicyOnFile]:
    rows = session.execute(
        select(Policy, Quote, Job)
        .join(Quote, Quote.id == Policy.quote_id)
        .join(Job, Job.id == Quote.job_id)
        .where(
            Policy.organization_id == tenant.organization_id,
            Policy.environment == tenant.environment,
            Policy.contractor_id == contractor_id,
            Policy.status == PolicyStatus.ACTIVE,
            Policy.deleted_at.is_(None),
        )
    )
    return [
        PolicyOnFile(
            p.id, j.category_id, q.work_state, frozenset(q.coverage_type), p.effective_date, p.expiration_date
        )
        for p, q, j in rows
    ]


def completed_opt_ins(session: Session, tenant: Tenant, contractor_id: str) -> dict[str, str]:
    """Work state -> the contractor's completed general opt-in application there."""
    rows = session.scalars(
        scoped(ApplicationSession, tenant)
        .where(
            ApplicationSession.contractor_id == contractor_id,
            ApplicationSession.is_general_opt_in.is_(True),
            ApplicationSession.status == Status.APPLICATION_COMPLETE,
        )
        .order_by(ApplicationSession.seq)
    )
    return {row.work_state: row.id for row in rows}


def application_on_file(session: Session, tenant: Tenant, contractor_id: str) -> ApplicationOnFile | None:
    """The contractor's newest completed application for a job, with the terms it was quoted on."""
    found = session.execute(
        select(ApplicationSession.id, Quote, JobCategory)
        .join(Quote, Quote.id == ApplicationSession.quote_id)
        .join(Job, Job.id == Quote.job_id)
        .join(JobCategory, JobCategory.id == Job.category_id)
        .where(
            ApplicationSession.organization_id == tenant.organization_id,
            ApplicationSession.environment == tenant.environment,
            ApplicationSession.contractor_id == contractor_id,
            ApplicationSession.is_general_opt_in.is_(False),
            ApplicationSession.status == Status.APPLICATION_COMPLETE,
        )
        .order_by(ApplicationSession.seq.desc())
        .limit(1)
    ).first()
    if found is None:
        return None
    session_id, quote, category = found
    return ApplicationOnFile(
        session_id,
        category.id,
        category.name,
        frozenset(quote.coverage_type),
        quote.work_state,
        quote.residence_state,
    )


def _engagement(
    session: Session, tenant: Tenant, contractor: Contractor, job: Job, coverage: list[CoverageType]
) -> Engagement:
    category = session.get(JobCategory, job.category_id)
    assert category is not None
    pays = payer(job.withhold_premium, contractor.withhold_premium, tenant.withhold_premium)
    return Engagement(
        frozenset(c.value for c in coverage),
        category.id,
        category.name,
        work_state(job.address, contractor.address),
        contractor.address["region"],
        pays_by_card=pays == Payer.CARD,
        card_on_file=card_on_file(session, contractor.id) is not None,
    )


def _decide(
    session: Session,
    tenant: Tenant,
    body: AssignmentIn,
    contractor: Contractor,
    job: Job,
    period: CoveragePeriod,
) -> tuple[list[CoverageType], CoverageDecision]:
    """The coverage asked for (else the newest policy's, else workers' comp) and how it is bound."""
    policies = policies_on_file(session, tenant, contractor.id)
    if body.policy:
        policies = [p for p in policies if p.policy_id == body.policy]
        if not policies:
            raise not_found("invalid_policy_id", "active policy", body.policy)
    latest = max(policies, key=lambda p: p.effective_date, default=None)
    requested = body.coverage_type or (latest.coverage_types if latest else {CoverageType.WORKERS_COMP})
    coverage = coverage_list(requested)
    decision = decide_coverage(
        requested=[c.value for c in coverage],
        category_id=job.category_id,
        category_approved=is_approved(session, tenant, job.category_id),
        work_state=work_state(job.address, contractor.address),
        start=period.effective_date,
        end=period.end_date,
        bind=body.bind,
        policies=policies,
        completed_opt_ins=completed_opt_ins(session, tenant, contractor.id),
        application_on_file=application_on_file(session, tenant, contractor.id),
        engagement=_engagement(session, tenant, contractor, job, coverage),
    )
    return coverage, decision


def _new_assignment(
    tenant: Tenant,
    body: AssignmentIn,
    contractor: Contractor,
    job: Job,
    period: CoveragePeriod,
    coverage: list[CoverageType],
    decision: CoverageDecision,
    rating: Rating,
) -> Assignment:
    eligible, message, path = decision.binds_now, decision.message, decision.path
    if decision.binds_now and not rating.eligible:
        eligible, message, path = False, f"Cannot bind: {rating.message}", CoveragePath.NOT_BOUND
    status = {
        CoveragePath.STANDARD: AssignmentStatus.AWAITING_APPLICATION,
        CoveragePath.NOT_BOUND: AssignmentStatus.NOT_BOUND,
    }.get(path, AssignmentStatus.PENDING)
    price = priced(rating, job.wage, job.wage_type, job.duration_hours)
    return Assignment.new(
        tenant,
        contractor_id=contractor.id,
        job_id=job.id,
        policy_id=decision.policy_id,
        coverage_type=[c.value for c in coverage],
        effective_date=period.effective_date,
        end_date=period.end_date,
        bind=body.bind,
        coverage_path=path,
        eligible_result=eligible,
        eligible_message=message,
        payer=payer(job.withhold_premium, contractor.withhold_premium, tenant.withhold_premium),
        net_rate=rating.rates.net_rate,
        premium=price.premium_due,
        status=status,
        charged=0,
        certificates={},
        cancelled=False,
        dispatched=False,
    )


def _send_application(
    session: Session,
    tenant: Tenant,
    row: Assignment,
    contractor: Contractor,
    job: Job,
    rating: Rating,
    settings: Settings,
) -> None:
    """The standard path: a quote for the assignment's terms, and its application emailed to them."""
    quote = offer(
        session, tenant, contractor, job, row.effective_date, row.end_date, row.coverage_type, rating
    )
    session.add(quote)
    if quote.eligible:
        finished = finished_url(settings)
        body = SessionIn(quote=quote.id, success_url=finished, cancel_url=finished, send_email=True)
        row.application_session_id = open_session(session, tenant, body, settings).id


def _decided(
    session: Session, tenant: Tenant, body: AssignmentIn, today: int | None = None
) -> tuple[Assignment, Contractor, Job, Rating]:
    """An assignment of these terms as ``POST /assignments`` decides it (not yet added to the session), with
    its contractor, job and rating. ``today``: the day before which a start is refused (default: now)."""
    contractor = get_contractor(session, tenant, body.contractor)
    job = get_job(session, tenant, body.job)
    period = coverage_period(now() if today is None else today, body.effective_date, body.end_date)
    coverage, decision = _decide(session, tenant, body, contractor, job, period)
    refuse_state_fund_coverage(contractor, job, coverage)
    rating = rating_of(session, contractor, job, coverage)
    return (
        _new_assignment(tenant, body, contractor, job, period, coverage, decision, rating),
        contractor,
        job,
        rating,
    )


def create_assignment(
    session: Session, tenant: Tenant, body: AssignmentIn, settings: Settings, actor: Actor | None = None
) -> Assignment:
    """Coverage for a contractor's next job: reuse, general opt-in or a new application (see ``eligible``)."""
    row, contractor, job, rating = _decided(session, tenant, body)
    if row.coverage_path == CoveragePath.STANDARD:
        _send_application(session, tenant, row, contractor, job, rating, settings)
    session.add(row)
    if binds_now(row.coverage_path) or row.application_session_id:  # standard: it waits for the application
        start_after_commit(session, ("assignment", row.id))
    record_change(
        session,
        tenant,
        actor,
        "assignment.created",
        row.id,
        contractor=row.contractor_id,
        job=row.job_id,
        eligible=row.eligible_result,
    )
    session.commit()
    return row


def engagement_assignment(session: Session, application: ApplicationSession) -> Assignment:
    """The engagement's first assignment, for an application completed for a quote (no assignment sent it):
    covered by the application's policy, for its dates, with the premium the application collected."""
    quote = session.scalar(select(Quote).where(Quote.id == application.quote_id))
    policy = session.scalar(select(Policy).where(Policy.id == application.policy_id))
    assert quote is not None and policy is not None
    return Assignment.new(
        application,
        contractor_id=application.contractor_id,
        job_id=quote.job_id,
        policy_id=policy.id,
        coverage_type=list(quote.coverage_type),
        effective_date=policy.effective_date,
        end_date=policy.expiration_date,
        bind=True,
        coverage_path=CoveragePath.STANDARD,
        eligible_result=True,
        eligible_message=f"Covered by application {application.id}",
        payer=Payer.REMIT if application.withhold_premium else Payer.CARD,
        net_rate=quote.net_rate,
        premium=application.premium,
        status=AssignmentStatus.ACTIVE,
        charged=application.premium,
        certificates=dict(policy.certificates),
        cancelled=False,
        dispatched=False,
        application_session_id=application.id,
    )


def assignment_snapshot(row: Assignment, workflows: WorkflowCalls) -> dict[str, Any]:
    """The stored assignment. Its workflow's steps store each change of status and money, and the charge's
    due time, in the row as they make it, so a read needs no Query to a worker (which a busy one answers
    late). A row upgraded in its notice window does not know its due time: its workflow is asked."""
    body = render.assignment(row)
    if row.charge_due_at == CHARGE_DUE_UNKNOWN and not row.cancelled:
        live = workflows.query(assignment_workflow_id(row.id), ASSIGNMENT_STATE)
        if live is not None:
            body |= {
                "status": live.status,
                "premium": live.premium,
                "premium_collected": live.collected,
                "charge_due_at": live.charge_due_at,
            }
    return body


@dataclass(frozen=True)
class Kept:
    """A change to an assignment (new terms, a cancellation), kept; ``pending`` when its workflow took it but
    has not finished it in time (a charge or refund waiting on a processor slow to answer): it finishes by
    itself, and the assignment shows the outcome then."""

    assignment: Assignment
    pending: bool = False


def update_assignment(
    session: Session,
    tenant: Tenant,
    assignment_id: str,
    body: AssignmentUpdate,
    settings: Settings,
    workflows: WorkflowCalls,
) -> Kept:
    """Allowed until the assignment's premium is collected (or its invoice paid); refused with 409 after.

    - Not bound (``bind: false``, no workflow): the assignment is decided again as if created with the new
      terms; ``bind: true`` binds it now.
    - Bound at once and paid by card, in its notice window (or its charge declined): re-bound with the new
      terms by its workflow. Nothing was collected, so no money moves: the pending charge is cancelled and
      starts over with the new premium after a new notice (a new reminder email), on the card of the
      assignment's contractor. A policy on file is referred to; one bound for this assignment alone is
      cancelled and a new one bound for the new terms, with new certificates. New terms that would need an
      application, or no coverage, or another payer, are refused: cancel it and create a new assignment.
    - Waiting for its contractor's application: its terms are those of the application sent (refused)."""
    row = get_assignment(session, tenant, assignment_id)
    paid = session.scalar(
        scoped(Invoice, tenant).where(Invoice.assignment_id == row.id, Invoice.status == InvoiceStatus.PAID)
    )
    if paid is not None:
        raise conflict("invoice_already_paid", f"Assignment {row.id} has a paid invoice ({paid.id})")
    changes = body.model_dump(exclude_unset=True)
    if row.cancelled:
        raise conflict("assignment_cancelled", f"Assignment {row.id} is cancelled; create a new assignment")
    if row.charged:
        raise conflict(
            "invoice_already_paid",
            f"Assignment {row.id}'s premium is collected; its terms are final: to change them, cancel it "
            "(what was collected is refunded) and create a new assignment",
        )
    rebinds = binds_now(row.coverage_path) and row.dispatched and row.payer == Payer.CARD
    if rebinds and any(name in changes for name in (*TERMS, "effective_date", "end_date")):
        return _rebind(session, tenant, row, changes, workflows)
    if any(name in changes for name in TERMS):
        return Kept(_redecide(session, tenant, row, changes, settings))
    if "end_date" in changes and row.coverage_path != CoveragePath.NOT_BOUND:
        raise invalid(
            "end_date: a bound assignment's end date changes with POST /assignments/extend", "end_date"
        )
    moved = changes.get("effective_date", row.effective_date) != row.effective_date
    if moved and row.policy_id and row.coverage_path != CoveragePath.NOT_BOUND:
        raise invalid(
            f"effective_date: assignment {row.id}'s coverage is bound from {row.effective_date}; to move its "
            "start, cancel it (before it starts) and create a new assignment",
            "effective_date",
            "effective_date_invalid",
        )
    period = coverage_period(
        now(), changes.get("effective_date", row.effective_date), changes.get("end_date", row.end_date)
    )
    row.effective_date, row.end_date = period.effective_date, period.end_date
    session.commit()
    return Kept(row)


def _terms_of(row: Assignment, changes: dict[str, Any]) -> AssignmentIn:
    """The assignment's terms with ``changes`` applied, as ``POST /assignments`` takes them."""
    return AssignmentIn(
        contractor=changes.get("contractor") or row.contractor_id,
        job=changes.get("job") or row.job_id,
        bind=row.bind if changes.get("bind") is None else changes["bind"],
        coverage_type=changes.get("coverage_type") or [CoverageType(c) for c in row.coverage_type],
        effective_date=changes.get("effective_date", row.effective_date),
        end_date=changes.get("end_date", row.end_date),
        policy=changes.get("policy"),
    )


def _rebind(
    session: Session, tenant: Tenant, row: Assignment, changes: dict[str, Any], workflows: WorkflowCalls
) -> Kept:
    """New terms for a card-paid assignment bound at once whose premium is not collected: decided as ``POST
    /assignments`` would decide them, then bound by its workflow, which restarts the pending charge with the
    new premium (or refuses: the charge collected the premium meanwhile). Nothing is written here before the
    workflow answers: its step stores the new terms. Pending when the workflow took the terms but is still
    finishing a charge under way (a processor slow to answer): it binds them (or refuses them, if that
    charge collected the premium) by itself."""
    # A start that has passed stays where it is (the coverage began); a new start must not be in the past.
    today = now() if "effective_date" in changes else min(now(), row.effective_date)
    fresh, *_ = _decided(session, tenant, _terms_of(row, changes), today)
    if not binds_now(fresh.coverage_path) or not fresh.eligible_result:
        reason = (
            "would need the contractor's application"
            if fresh.coverage_path == CoveragePath.STANDARD
            else f"would leave it without coverage ({fresh.eligible_message})"
        )
        raise conflict(
            "assignment_already_bound",
            f"Assignment {row.id}'s coverage is bound; the new terms {reason}. Cancel it (nothing is "
            "charged before its notice ends) and create a new assignment with the new terms",
        )
    if fresh.payer != row.payer:
        raise conflict(
            "assignment_already_bound",
            f"Assignment {row.id} is paid by card; with the new terms it would be billed to the "
            "organization. Cancel it and create a new assignment with the new terms",
        )
    terms = NewTerms(
        assignment_id=row.id,
        contractor_id=fresh.contractor_id,
        job_id=fresh.job_id,
        policy_id=fresh.policy_id,
        coverage_type=list(fresh.coverage_type),
        effective_date=fresh.effective_date,
        end_date=fresh.end_date,
        bind=fresh.bind,
        coverage_path=fresh.coverage_path,
        eligible_message=fresh.eligible_message,
        net_rate=fresh.net_rate,
        premium=fresh.premium,
    )
    session.rollback()  # only reads so far: no transaction stays open while the workflow binds
    done = workflows.update_or_accepted(assignment_workflow_id(row.id), REBIND, terms)
    session.refresh(row)
    return Kept(row, pending=done is None)


def _redecide(
    session: Session, tenant: Tenant, row: Assignment, changes: dict[str, Any], settings: Settings
) -> Assignment:
    """New terms for an assignment whose coverage is not bound (no workflow, no money yet): decided again as
    ``POST /assignments`` would with them, keeping its id. A bound one is refused: its policy, certificate
    and charge are under way for those terms."""
    if row.coverage_path != CoveragePath.NOT_BOUND or row.dispatched:
        raise conflict(
            "assignment_already_bound",
            f"Assignment {row.id}'s coverage is bound ({row.coverage_path}); its contractor, job, coverage "
            "and policy are fixed. Cancel it (nothing is charged before its notice ends; anything collected "
            "is refunded) and create a new assignment with the new terms",
        )
    fresh, contractor, job, rating = _decided(session, tenant, _terms_of(row, changes))
    for column in (
        "contractor_id", "job_id", "policy_id", "coverage_type", "effective_date", "end_date", "bind",
        "coverage_path", "eligible_result", "eligible_message", "payer", "net_rate", "premium", "status",
    ):  # fmt: skip
        setattr(row, column, getattr(fresh, column))
    if fresh.coverage_path == CoveragePath.STANDARD:
        _send_application(session, tenant, row, contractor, job, rating, settings)
    if binds_now(row.coverage_path) or row.application_session_id:
        start_after_commit(session, ("assignment", row.id))
    session.commit()
    return row


def _cancel(
    session: Session,
    row: Assignment,
    reason: str,
    workflows: WorkflowCalls,
    tenant: Tenant | None = None,
    actor: Actor | None = None,
) -> Kept:
    """Its workflow refunds what was collected and announces the cancellation; an application the
    assignment sent and the contractor has not finished ends with it. Once the workflow has taken the
    cancellation (it cannot be undone) the assignment is cancelled, even if its refund is still under way."""
    awaiting = row.application_session_id if row.status == AssignmentStatus.AWAITING_APPLICATION else None
    session.commit()  # only reads so far: no transaction stays open while the workflows answer
    pending = False
    if row.dispatched:
        done = workflows.update_or_accepted(assignment_workflow_id(row.id), CANCEL, reason)
        pending = done is None
        session.refresh(row)
    if awaiting:
        with contextlib.suppress(DomainError):  # it has ended already (expired, or just completed)
            workflows.update(application_workflow_id(awaiting), EXPIRE, None)
    row.cancelled, row.cancellation_date, row.cancellation_reason = True, now(), reason
    row.status = AssignmentStatus.CANCELLED
    if tenant is not None:
        record_change(session, tenant, actor, "assignment.cancelled", row.id, reason=reason)
    session.commit()
    return Kept(row, pending)


def cancel_assignment(
    session: Session, tenant: Tenant, body: CancelIn, workflows: WorkflowCalls, actor: Actor | None = None
) -> Kept:
    """Only before the assignment starts; refunds the card (or credits the organization). Irreversible."""
    row = _assignment_of_job(session, tenant, body.job_id)
    if not may_cancel(row.cancelled, row.effective_date, now()):
        raise invalid(
            "job_id: an assignment can only be cancelled before its start date", "job_id", rule="started"
        )
    return _cancel(session, row, body.reason, workflows, tenant, actor)


def extend_assignment(
    session: Session,
    tenant: Tenant,
    body: ExtendIn,
    workflows: WorkflowCalls,
    settings: Settings,
    actor: Actor | None = None,
) -> Assignment:
    """A later end date: the workflow keeps the engagement open until then, and a bound assignment's policy
    covers through it, with new certificates (``assignment.extended`` carries them). The premium follows
    the pay reported, not the dates, so it does not change."""
    row = _assignment_of_job(session, tenant, body.job_id)
    if not may_extend(row.status, row.cancelled):
        raise invalid(f"job_id: the assignment is {row.status}", "job_id", status=str(row.status))
    if body.end_date < row.end_date:
        raise invalid(
            "end_date: an assignment cannot be shortened",
            "end_date",
            "end_date_invalid",
            rule="shortened",
            end_date=row.end_date,
        )
    if body.end_date > row.effective_date + MAX_TERM:
        raise invalid(
            "end_date: at most one year after the effective date",
            "end_date",
            "end_date_invalid",
            rule="max_term",
            latest=row.effective_date + MAX_TERM,
        )
    changed = body.end_date != row.end_date
    if changed:
        previous = row.end_date
        if row.dispatched:
            session.commit()  # only reads so far: no transaction stays open while the workflow answers
            workflows.update(assignment_workflow_id(row.id), EXTEND, body.end_date)
        row.end_date = body.end_date
        cover_assignment_through_its_end(session, settings, row)
        record_event(
            session,
            tenant.organization_id,
            tenant.environment,
            "assignment.extended",
            render.assignment(row) | {"previous_end_date": previous},
        )
        if body.send_email:
            _email_extension(session, tenant, row, previous)
    record_change(
        session,
        tenant,
        actor,
        "assignment.extended",
        row.id,
        end_date=row.end_date,
        send_email=body.send_email,
    )
    if changed or actor is not None:
        session.commit()
    return row


def the_jobs_current(session: Session, tenant: Tenant, assignment_id: str) -> Assignment:
    """Cancel, extend and invoice act on a job's current assignment (the API names it by its job). Named by
    its own id (the dashboard), an assignment another one replaced as its job's current is refused. When
    the job has none left, the operation refuses as the API does."""
    row = get_assignment(session, tenant, assignment_id)
    current = current_assignment(session, tenant, None, row.job_id)
    if current is not None and current.id != row.id:
        raise invalid(f"Assignment {row.id} was replaced: {current.id} is its job's current assignment")
    return row


def cancel_named(
    session: Session,
    tenant: Tenant,
    assignment_id: str,
    reason: str,
    workflows: WorkflowCalls,
    actor: Actor | None = None,
) -> Kept:
    """``cancel_assignment`` for the assignment of this id, if it is its job's current one."""
    row = the_jobs_current(session, tenant, assignment_id)
    body = validated(CancelIn, {"job_id": row.job_id, "reason": reason})
    return cancel_assignment(session, tenant, body, workflows, actor)


def extend_named(
    session: Session,
    tenant: Tenant,
    assignment_id: str,
    fields: dict[str, Any],
    workflows: WorkflowCalls,
    settings: Settings,
    actor: Actor | None = None,
) -> Assignment:
    """``extend_assignment`` for the assignment of this id, if it is its job's current one; ``fields`` are
    ExtendIn's but the job."""
    row = the_jobs_current(session, tenant, assignment_id)
    body = validated(ExtendIn, {**fields, "job_id": row.job_id})
    return extend_assignment(session, tenant, body, workflows, settings, actor)


def cover_assignment_through_its_end(session: Session, settings: Settings, row: Assignment) -> None:
    """The assignment's policy covers through the assignment's end (extended after it was bound, or before
    its application bound it), and the assignment shows the policy's certificates."""
    policy = session.scalar(select(Policy).where(Policy.id == row.policy_id)) if row.policy_id else None
    if policy is not None and cover_through(session, settings, policy, row.end_date):
        row.certificates = dict(policy.certificates)


def _email_extension(session: Session, tenant: Tenant, row: Assignment, previous_end: int) -> None:
    contractor = get_contractor(session, tenant, row.contractor_id)
    job = get_job(session, tenant, row.job_id)
    key = hashlib.sha256(f"{row.id}:extended:{row.end_date}".encode()).hexdigest()[:24]
    enqueue_email(
        session,
        tenant.organization_id,
        tenant.environment,
        EmailKind.COVERAGE_EXTENDED,
        contractor.email,
        CoverageExtended(
            organization_name=tenant.organization.name,
            contractor_name=contractor.full_name,
            job_name=job.name,
            previous_end_date=previous_end,
            end_date=row.end_date,
        ),
        related={"assignment": row.id},
        email_id=f"em_{key}",
    )


def delete_assignment(
    session: Session, tenant: Tenant, assignment_id: str, workflows: WorkflowCalls
) -> Assignment:
    row = get_assignment(session, tenant, assignment_id)
    if not row.cancelled and row.status == AssignmentStatus.ACTIVE and row.effective_date <= now():
        raise conflict("bad_request", f"Assignment {row.id} has started; its coverage cannot be deleted")
    if not row.cancelled:
        _cancel(session, row, "deleted", workflows)
    row.deleted_at = now()
    session.commit()
    return row
