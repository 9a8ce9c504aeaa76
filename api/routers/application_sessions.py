from typing import Any

from fastapi import APIRouter, Request
from pydantic import AnyHttpUrl, Field, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from api import workflow_calls
from api.deps import CurrentTenant, DbSession, Tenant
from api.errors import ApiError, conflict, invalid_input
from api.queries import PageParams, filtered, get_owned, list_page, now, scoped
from api.routers.contractors import get_contractor
from api.routers.jobs import get_job
from api.routers.quotes import get_quote
from api.schemas import Strict, USState
from common import representations as render
from common.ids import new_document_token, new_session_id
from common.settings import Settings
from db.models import ApplicationSession, CategoryRate, Organization, Policy
from domain.application import ENDED
from domain.coverage import CoverageType
from domain.geography import US_STATES
from domain.payer import premium_is_withheld
from notifications.catalog import ApplicationLink, EmailKind
from outbox.records import enqueue_email, start_after_commit
from workflows.application_messages import ApplicationState, StepResult

router = APIRouter(prefix="/apply/sessions", tags=["insurance application sessions"])


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


def workflow_id(session_id: str) -> str:
    return f"application-{session_id}"


def get_application(session: Session, tenant: Tenant, session_id: str) -> ApplicationSession:
    return get_owned(session, ApplicationSession, tenant, session_id, "invalid_session_id", "session")


def _public(request: Request) -> str:
    return str(request.app.state.settings.public_base_url)


def _render(request: Request, row: ApplicationSession, live: bool = False) -> dict[str, Any]:
    state = None
    if live and row.status not in ENDED:
        state = workflow_calls.query(request, workflow_id(row.id), "state", ApplicationState)
    return render.application_session(
        row, _public(request), state.step if state else None, state.status if state else None
    )


def _standard(session: Session, tenant: Tenant, body: SessionIn, row: ApplicationSession) -> None:
    assert body.quote
    quote = get_quote(session, tenant, body.quote)
    if not quote.eligible:
        raise ApiError(
            400, "invalid_quote_id", f"Quote {quote.id} is not eligible: {quote.eligibility_message}"
        )
    if session.scalar(scoped(Policy, tenant).where(Policy.quote_id == quote.id).limit(1)) is not None:
        raise conflict("policy_already_exists", f"A policy was already bound from quote {quote.id}")
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
        job.withhold_premium, contractor.withhold_premium, tenant.organization.withhold_premium
    )


def _general_opt_in(session: Session, tenant: Tenant, body: SessionIn, row: ApplicationSession) -> None:
    """Seed 003: a withheld premium, workers' comp only, for one work state."""
    assert body.contractor and body.work_state
    contractor = get_contractor(session, tenant, body.contractor)
    if body.coverage_type and set(body.coverage_type) != {CoverageType.WORKERS_COMP}:
        raise invalid_input("coverage_type: a general opt-in application covers workers-comp only")
    if not premium_is_withheld(None, contractor.withhold_premium, tenant.organization.withhold_premium):
        raise invalid_input(
            "is_general_opt_in: general opt-in applications need a withheld premium: set "
            "withhold_premium on the contractor or on your organization"
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
        raise invalid_input(
            f"work_state: workers' compensation in {US_STATES[body.work_state]} is written only by "
            "the state fund"
        )
    row.contractor_id, row.work_state, row.coverage_type = contractor.id, body.work_state, ["workers-comp"]
    row.premium, row.withhold_premium = 0, True


def finished_url(settings: Settings) -> str:
    """Our own page that thanks the contractor, for applications no platform page redirects from."""
    return f"{settings.public_base_url.rstrip('/')}/apply/finished"


def open_session(body: SessionIn, settings: Settings, session: Session, tenant: Tenant) -> ApplicationSession:
    """A new application (not committed): its workflow starts once the caller commits."""
    moment = now()
    lifetime = settings.application_lifetime_seconds
    row = ApplicationSession(
        id=new_session_id(),
        organization_id=tenant.organization_id,
        environment=tenant.environment,
        created=moment,
        token=new_document_token(),
        is_general_opt_in=body.is_general_opt_in,
        success_url=str(body.success_url),
        cancel_url=str(body.cancel_url),
        status="CREATED",
        step="verify_info",
        expires_at=moment + lifetime,
        dispatched=False,
        answers={},
        signature={},
    )
    (_general_opt_in if body.is_general_opt_in else _standard)(session, tenant, body, row)
    session.add(row)
    start_after_commit(session, ("application", row.id))
    if body.send_email:
        email_link(settings, session, tenant, row)
    return row


def email_link(settings: Settings, session: Session, tenant: Tenant, row: ApplicationSession) -> None:
    contractor = get_contractor(session, tenant, row.contractor_id)
    job = get_job(session, tenant, row.job_id) if row.job_id else None
    organization = session.get(Organization, tenant.organization_id)
    assert organization is not None
    link = render.application_session(row, settings.public_base_url)["url"]
    context = ApplicationLink(
        organization_name=organization.name,
        url=link,
        expires_at=row.expires_at,
        contractor_name=f"{contractor.first_name} {contractor.last_name}",
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


@router.post("", status_code=201)
def create_session(
    body: SessionIn, request: Request, session: DbSession, tenant: CurrentTenant
) -> dict[str, Any]:
    row = open_session(body, request.app.state.settings, session, tenant)
    session.commit()
    return _render(request, row)


@router.get("")
def list_sessions(
    request: Request,
    session: DbSession,
    tenant: CurrentTenant,
    page: PageParams,
    contractor: str | None = None,
    is_general_opt_in: bool | None = None,
) -> list[dict[str, Any]]:
    query = filtered(scoped(ApplicationSession, tenant), {ApplicationSession.contractor_id: contractor})
    if is_general_opt_in is not None:
        query = query.where(ApplicationSession.is_general_opt_in.is_(is_general_opt_in))
    return [_render(request, row) for row in list_page(session, query, ApplicationSession, page)]


@router.get("/{session_id}")
def retrieve_session(
    session_id: str, request: Request, session: DbSession, tenant: CurrentTenant
) -> dict[str, Any]:
    """The live ``step`` comes from the running workflow (a query), the rest from the database."""
    return _render(request, get_application(session, tenant, session_id), live=True)


@router.put("/{session_id}")
def update_session(
    session_id: str, body: SessionUpdate, request: Request, session: DbSession, tenant: CurrentTenant
) -> dict[str, Any]:
    """Only the redirect URLs can change."""
    row = get_application(session, tenant, session_id)
    for field, value in body.model_dump(exclude_unset=True).items():
        if value is None:
            raise invalid_input(f"{field}: cannot be removed")
        setattr(row, field, str(value))
    session.commit()
    return _render(request, row, live=True)


@router.post("/{session_id}/expire")
def expire_session(
    session_id: str, request: Request, session: DbSession, tenant: CurrentTenant
) -> dict[str, Any]:
    row = get_application(session, tenant, session_id)
    if row.status == "APPLICATION_COMPLETE":
        raise conflict("application_already_complete", f"Application {row.id} is already complete")
    if row.status in ("EXPIRED", "INELIGIBLE"):
        raise conflict("session_expired", f"Application {row.id} has already ended ({row.status})")
    workflow_calls.update(request, workflow_id(row.id), "expire", None, StepResult)
    session.refresh(row)
    return _render(request, row)
