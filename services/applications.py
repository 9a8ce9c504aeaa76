"""Insurance application sessions: opening one (for a quote, or a general opt-in), its link by email, its
redirect URLs, and ending it early. Its ApplicationWorkflow starts once the opening transaction commits."""

from typing import Literal

from pydantic import AnyHttpUrl, Field, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from common.ids import new_document_token
from common.schemas import Strict, USState
from common.settings import Settings
from contracts.application import EXPIRE, REVIEW, ReviewDecision, application_workflow_id
from db.models import ApplicationSession, CategoryRate, Organization
from domain.application import ENDED, Status, Step
from domain.coverage import CoverageType
from domain.errors import conflict, invalid, not_found
from domain.geography import US_STATES
from domain.payer import premium_is_withheld
from notifications.catalog import ApplicationLink, EmailKind
from outbox.records import enqueue_email, record_event, start_after_commit
from services import audit
from services import representations as render
from services.audit import Actor
from services.lookups import get_application, get_contractor, get_job, get_quote, scoped
from services.policies import refuse_bound_quote
from services.tenancy import Tenant
from services.workflow_calls import WorkflowCalls


class SessionIn(Strict):
    quote: str | None = Field(None, description="Required unless is_general_opt_in.")
    quote_id: str | None = Field(None, description="Older name of `quote`.")
    contractor: str | None = Field(None, description="Required for a general opt-in.")
    contractor_id: str | None = Field(None, description="Older name of `contractor`.")
    success_url: AnyHttpUrl
    cancel_url: AnyHttpUrl
    is_general_opt_in: bool = False
    work_state: USState | None = Field(None, description="Work state of a general opt-in.")
    general_opt_in_work_state: USState | None = Field(None, description="Other name of `work_state`.")
    coverage_type: list[CoverageType] | None = Field(
        None, description="A general opt-in covers workers-comp only."
    )
    send_email: bool = Field(False, description="Also email the application link to the contractor.")

    @model_validator(mode="after")
    def _aliases(self) -> "SessionIn":
        self.quote = self.quote or self.quote_id
        self.contractor = self.contractor or self.contractor_id
        self.work_state = self.work_state or self.general_opt_in_work_state
        if self.is_general_opt_in:
            if not self.contractor:
                raise ValueError("contractor: a general opt-in application needs a contractor id (cn_…)")
            if not self.work_state:
                raise ValueError("work_state: a general opt-in application needs the state the work is in")
        elif not self.quote:
            raise ValueError("quote: a quote id (qt_…) is required (or set is_general_opt_in)")
        return self


class SessionUpdate(Strict):
    success_url: AnyHttpUrl | None = None
    cancel_url: AnyHttpUrl | None = None


def finished_url(settings: Settings) -> str:
    """Our own page that thanks the contractor, for applications no platform page redirects from."""
    return f"{settings.public_base_url.rstrip('/')}/apply/finished"


def _standard(session: Session, tenant: Tenant, body: SessionIn, row: ApplicationSession) -> None:
    assert body.quote
    quote = get_quote(session, tenant, body.quote)
    refuse_bound_quote(session, tenant, quote)
    open_one = session.scalar(
        scoped(ApplicationSession, tenant).where(
            ApplicationSession.quote_id == quote.id,
            ApplicationSession.status.not_in([s.value for s in ENDED]),
        )
    )
    if open_one is not None:
        raise conflict("bad_request", f"Application {open_one.id} for quote {quote.id} is still open")
    contractor = get_contractor(session, tenant, quote.contractor_id)
    job = get_job(session, tenant, quote.job_id)
    row.contractor_id, row.quote_id, row.job_id = contractor.id, quote.id, job.id
    row.work_state, row.coverage_type, row.premium = (
        quote.work_state,
        list(quote.coverage_type),
        quote.premium_due,
    )
    row.withhold_premium = premium_is_withheld(
        job.withhold_premium, contractor.withhold_premium, tenant.withhold_premium
    )


def _general_opt_in(session: Session, tenant: Tenant, body: SessionIn, row: ApplicationSession) -> None:
    """Seed 003: a withheld premium, workers' comp only, for one work state."""
    assert body.contractor and body.work_state
    contractor = get_contractor(session, tenant, body.contractor)
    if body.coverage_type and set(body.coverage_type) != {CoverageType.WORKERS_COMP}:
        raise invalid("coverage_type: a general opt-in application covers workers-comp only", "coverage_type")
    if not premium_is_withheld(None, contractor.withhold_premium, tenant.withhold_premium):
        raise invalid(
            "is_general_opt_in: general opt-in applications need a withheld premium: set "
            "withhold_premium on the contractor or on your organization",
            "is_general_opt_in",
        )
    writable = session.scalar(
        select(CategoryRate.id)
        .where(
            CategoryRate.state == body.work_state,
            CategoryRate.coverage_type == CoverageType.WORKERS_COMP.value,
        )
        .limit(1)
    )
    if writable is None:
        raise invalid(
            f"work_state: workers' compensation in {US_STATES[body.work_state]} is written only by "
            "the state fund",
            "work_state",
        )
    row.contractor_id, row.work_state, row.coverage_type = contractor.id, body.work_state, ["workers-comp"]
    row.premium, row.withhold_premium = 0, True


def open_session(session: Session, tenant: Tenant, body: SessionIn, settings: Settings) -> ApplicationSession:
    """A new application (not committed): its workflow starts once the caller commits."""
    row = ApplicationSession.new(
        tenant,
        token=new_document_token(),
        is_general_opt_in=body.is_general_opt_in,
        success_url=str(body.success_url),
        cancel_url=str(body.cancel_url),
        status=Status.CREATED,
        step=Step.VERIFY_INFO,
        dispatched=False,
        answers={},
        signature={},
    )
    row.expires_at = row.created + settings.application_lifetime_seconds
    (_general_opt_in if body.is_general_opt_in else _standard)(session, tenant, body, row)
    session.add(row)
    session.flush()
    record_event(
        session,
        tenant.organization_id,
        tenant.environment,
        "application.created",
        render.application_session(row, settings.public_base_url),
    )
    start_after_commit(session, ("application", row.id))
    if body.send_email:
        email_link(session, tenant, row, settings)
    return row


def open_application(
    session: Session, tenant: Tenant, body: SessionIn, settings: Settings
) -> ApplicationSession:
    row = open_session(session, tenant, body, settings)
    session.commit()
    return row


def email_link(session: Session, tenant: Tenant, row: ApplicationSession, settings: Settings) -> None:
    """Email the application's link to the contractor (sent once the caller commits)."""
    contractor = get_contractor(session, tenant, row.contractor_id)
    job = get_job(session, tenant, row.job_id) if row.job_id else None
    organization = session.get(Organization, tenant.organization_id)
    assert organization is not None
    link = render.application_session(row, settings.public_base_url)["url"]
    context = ApplicationLink(
        organization_name=organization.name,
        url=link,
        expires_at=row.expires_at,
        contractor_name=contractor.full_name,
        job_name=job.name if job else None,
    )
    enqueue_email(
        session,
        tenant.organization_id,
        tenant.environment,
        EmailKind.APPLICATION_LINK,
        contractor.email,
        context,
        related={"application_session": row.id},
    )


def update_redirects(
    session: Session, tenant: Tenant, session_id: str, body: SessionUpdate
) -> ApplicationSession:
    """Only the redirect URLs can change."""
    row = get_application(session, tenant, session_id)
    for field, value in body.model_dump(exclude_unset=True).items():
        if value is None:
            raise invalid(f"{field}: cannot be removed", field)
        setattr(row, field, str(value))
    session.commit()
    return row


def _refuse_ended(row: ApplicationSession) -> None:
    if row.status == Status.APPLICATION_COMPLETE:
        raise conflict("application_already_complete", f"Application {row.id} is already complete")
    if row.status in (Status.EXPIRED, Status.INELIGIBLE):
        raise conflict("session_expired", f"Application {row.id} has already ended ({row.status})")


def resend_link(
    session: Session, tenant: Tenant, session_id: str, settings: Settings, actor: Actor
) -> ApplicationSession:
    """Email the link of an application still open to the contractor again (the dashboard's "resend")."""
    row = get_application(session, tenant, session_id)
    _refuse_ended(row)
    email_link(session, tenant, row, settings)
    audit.record(
        session,
        tenant.organization_id,
        actor,
        "application.link_sent",
        row.id,
        environment=tenant.environment,
    )
    session.commit()
    return row


def expire_application(
    session: Session,
    tenant: Tenant,
    session_id: str,
    workflows: WorkflowCalls,
    actor: Actor | None = None,
) -> ApplicationSession:
    row = get_application(session, tenant, session_id)
    _refuse_ended(row)
    session.commit()  # only reads so far: no transaction stays open while the workflow answers
    workflows.update(application_workflow_id(row.id), EXPIRE, None)
    session.refresh(row)
    if actor is not None:  # expired from the dashboard
        audit.record(
            session,
            tenant.organization_id,
            actor,
            "application.expired",
            row.id,
            environment=tenant.environment,
        )
        session.commit()
    return row


class ReviewIn(Strict):
    decision: Literal["approve", "decline"]
    reason: str | None = Field(
        None, max_length=500, description="Shown to the contractor and the platform when declined."
    )


def under_review(session: Session) -> list[ApplicationSession]:
    """Every application waiting for an underwriter, oldest first (the underwriter works for gigcover, so
    this spans organizations)."""
    query = select(ApplicationSession).where(ApplicationSession.status == Status.MANUAL_REVIEW)
    return list(session.scalars(query.order_by(ApplicationSession.created)))


def tenant_of_application(session: Session, session_id: str) -> Tenant:
    """Whose application ``session_id`` is: the underwriter names an application, not an organization."""
    row = session.scalar(select(ApplicationSession).where(ApplicationSession.id == session_id))
    organization = session.get(Organization, row.organization_id) if row else None
    if row is None or organization is None:
        raise not_found("invalid_session_id", "session", session_id)
    return Tenant(organization, row.environment)


def review_application(
    session: Session,
    tenant: Tenant,
    session_id: str,
    body: ReviewIn,
    workflows: WorkflowCalls,
    actor: audit.Actor,
) -> ApplicationSession:
    """An underwriter's decision on an application under manual review, sent to its workflow: approved, it
    continues at the next step; declined, it ends as ineligible with the reason. Recorded in the audit log."""
    row = get_application(session, tenant, session_id)
    if row.status != Status.MANUAL_REVIEW:
        raise conflict("not_under_review", f"Application {row.id} is not under review (it is {row.status})")
    decision = ReviewDecision(approve=body.decision == "approve", reason=body.reason)
    session.commit()  # only reads so far: no transaction stays open while the workflow answers
    workflows.update(application_workflow_id(row.id), REVIEW, decision)
    session.refresh(row)
    audit.record(
        session,
        tenant.organization_id,
        actor,
        f"application.review_{body.decision}d",
        row.id,
        environment=tenant.environment,
        reason=body.reason,
    )
    session.commit()
    return row
