"""The contractor's hosted application, reached by its link's token: what its page shows, and each step the
page submits (an Update to the ApplicationWorkflow, whose validators hold the steps' rules).
api/hosted/pages.py parses the forms and renders what these return."""

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from common.settings import Settings
from contracts.application import (
    APPLICATION_STATE,
    HOLD_AUTHENTICATED,
    ApplicationState,
    StepResult,
    application_workflow_id,
)
from contracts.calls import UpdateName
from db.models import ApplicationSession, Contractor, Job, Organization, Quote
from domain.application import ENDED, NOTHING_TO_CONFIRM, Status, Step, shown_step
from domain.errors import DomainError, Refusal, unavailable
from services.cards import application_card_form, authentication_secret
from services.workflow_calls import WorkflowCalls


@dataclass(frozen=True)
class ApplicationPage:
    row: ApplicationSession
    contractor: Contractor
    organization_name: str
    job_name: str | None
    step: Step  # where the application is (its workflow's word while it runs)
    status: str
    card_summary: str | None
    shown: Step  # the page to show: the current step, or an earlier one reached with Back
    coverage_period: tuple[int, int] | None  # on the final review: the quote's effective and end dates
    card_form: dict[str, str]  # on the card step: the Stripe form's settings
    hold_to_authenticate: bool = False  # on the card step: the bank asks them to confirm the card


def _by_token(session: Session, token: str) -> ApplicationSession | None:
    return session.scalar(select(ApplicationSession).where(ApplicationSession.token == token))


def _live(workflows: WorkflowCalls, row: ApplicationSession) -> ApplicationState | None:
    """The application as its workflow has it (None: it has ended, or its workflow did not answer)."""
    if row.status in ENDED:
        return None
    return workflows.query(application_workflow_id(row.id), APPLICATION_STATE)


def application_page(
    session: Session, settings: Settings, workflows: WorkflowCalls, token: str, requested: str | None
) -> ApplicationPage | None:
    """The page of the application ``token`` opens (None: no such link), ``requested`` an earlier step."""
    row = _by_token(session, token)
    if row is None:
        return None
    live = _live(workflows, row)
    step, status, card_summary = (
        (Step(live.step), live.status, live.card_summary)
        if live
        else (Step(row.step), row.status, row.card_summary)
    )
    contractor = session.scalar(select(Contractor).where(Contractor.id == row.contractor_id))
    organization = session.get(Organization, row.organization_id)
    job = session.scalar(select(Job).where(Job.id == row.job_id)) if row.job_id else None
    assert contractor is not None and organization is not None
    shown = shown_step(step, requested)
    period = None
    if shown is Step.FINAL_REVIEW and row.quote_id:
        quote = session.scalar(select(Quote).where(Quote.id == row.quote_id))
        period = (quote.effective_date, quote.end_date) if quote else None
    card_form: dict[str, str] = {}
    if shown is Step.ADD_CARD_DETAILS and status not in {*ENDED, Status.MANUAL_REVIEW}:
        card_form = application_card_form(session, settings, row, contractor)
    return ApplicationPage(
        row=row,
        contractor=contractor,
        organization_name=organization.name,
        job_name=job.name if job else None,
        step=step,
        status=status,
        card_summary=card_summary,
        shown=shown,
        coverage_period=period,
        card_form=card_form,
        hold_to_authenticate=bool(card_form and live and live.hold_to_authenticate),
    )


@dataclass(frozen=True)
class Submitted:
    result: StepResult
    success_url: str  # where a completed application sends the contractor


def submit_step(
    session: Session,
    workflows: WorkflowCalls,
    token: str,
    update: UpdateName[Any, StepResult],
    payload: BaseModel | None,
) -> Submitted:
    """One step of the application ``token`` opens; refused (DomainError) with the workflow's own message."""
    row = _by_token(session, token)
    if row is None:
        raise DomainError("invalid_session_id", "No such application", kind=Refusal.NOT_FOUND)
    session.commit()  # only reads so far: no transaction stays open while the workflow answers
    return Submitted(workflows.update(application_workflow_id(row.id), update, payload), row.success_url)


# 3-D Secure on the card step: a hold the contractor's bank asks them to confirm ----------------------------


def _hold_to_authenticate(
    session: Session, workflows: WorkflowCalls, token: str
) -> tuple[ApplicationSession, str]:
    """The application and the hold its workflow waits to see confirmed (the workflow's, never the page's)."""
    row = _by_token(session, token)
    if row is None:
        raise DomainError("invalid_session_id", "No such application", kind=Refusal.NOT_FOUND)
    live = _live(workflows, row)
    if live is None and row.status not in ENDED:
        raise unavailable("We could not look up your card just now. Please try again in a minute.")
    if live is None or not live.hold_to_authenticate:
        raise DomainError("nothing_to_authenticate", NOTHING_TO_CONFIRM, kind=Refusal.CONFLICT)
    return row, live.hold_to_authenticate


def start_hold_authentication(
    session: Session, settings: Settings, workflows: WorkflowCalls, token: str
) -> str | None:
    """The contractor chose to confirm their card with their bank: the waiting hold is confirmed on-session
    with it, and its client secret returned for Stripe.js to run the challenge (None: it needs none now)."""
    row, intent = _hold_to_authenticate(session, workflows, token)
    session.commit()  # only reads so far: no transaction stays open while the processor answers
    if row.stripe_customer_id is None:
        raise DomainError("nothing_to_authenticate", NOTHING_TO_CONFIRM, kind=Refusal.CONFLICT)
    return authentication_secret(settings, row.environment, intent, row.stripe_customer_id)


def finish_hold_authentication(session: Session, workflows: WorkflowCalls, token: str) -> Submitted:
    """The bank's challenge is over: the workflow takes the hold up if the processor says it is held."""
    row, intent = _hold_to_authenticate(session, workflows, token)
    session.commit()  # only reads so far: no transaction stays open while the workflow answers
    return Submitted(
        workflows.update(application_workflow_id(row.id), HOLD_AUTHENTICATED, intent), row.success_url
    )
