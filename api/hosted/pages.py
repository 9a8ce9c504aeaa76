"""The contractor's hosted insurance application: server-rendered pages over the ApplicationWorkflow.

Every form POSTs an Update to the workflow and redirects (303) back to the page, so reloading or going
back never submits anything twice. The link's token is the contractor's access; no API key is involved.
"""

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote as urlquote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from api.client_address import client_address
from api.deps import AppSettings, DbSession, Workflows
from api.errors import ApiError
from api.hosted.rendering import NO_STORE, TEMPLATES, challenge_answer, redirect
from api.hosted.security import page_messages
from common.schemas import TextInput
from contracts.application import (
    ADD_CARD,
    ANSWER_QUESTIONS,
    COMPLETE,
    SIGN,
    VERIFY_INFO,
    Answers,
    CardInput,
    ContractorDetails,
    SignatureInput,
    StepResult,
)
from contracts.calls import UpdateName
from domain.application import Status, Step, reached, steps_for
from domain.errors import DomainError, Refusal
from domain.geography import US_STATES
from notifications.render import date, datetime_utc, money
from services import application_pages
from services.workflow_calls import WorkflowCalls

router = APIRouter(prefix="/apply", include_in_schema=False)
LABELS = {
    Step.VERIFY_INFO: "Your details",
    Step.APPLICATION_QUESTIONS: "Questions",
    Step.ESIGNATURE_DOCUMENT: "Signature",
    Step.ADD_CARD_DETAILS: "Payment",
    Step.FINAL_REVIEW: "Review",
}
COVERAGE_NAMES = {
    "general": "General liability",
    "workers-comp": "Workers' compensation",
    "professional": "Professional liability",
}


# A step that moves money may outlast the page's wait (the card processor is slow): it goes on by itself, so
# the contractor is told it is under way, not to try again.
STILL_WORKING: dict[UpdateName[Any, StepResult], str] = {
    COMPLETE: "We are still completing your application with your bank. It will finish on its own and we "
    "will email you when it is done: there is no need to click again.",
    ADD_CARD: "We are still checking your card with your bank. Reload this page in a minute to see the "
    "result: there is no need to enter your card again.",
}


def _page_url(token: str, step: Step | None = None, error: str | None = None) -> str:
    params = [f"step={step.value}"] if step else []
    if error:
        params.append(f"error={urlquote(error)}&sig={page_messages().sign(token, error)}")
    return f"/apply/{token}" + ("?" + "&".join(params) if params else "")


@router.get("/finished", response_class=HTMLResponse)
def finished(request: Request) -> Response:
    """Where applications that no platform page waits for (those an assignment started) end."""
    context = {
        "organization_name": "gigcover",
        "heading": "Thank you",
        "steps": None,
        "cancel_url": None,
        "message": "Your application is finished. You can close this window.",
    }
    return TEMPLATES.TemplateResponse(request, "ended.html", context, headers=NO_STORE)


@router.get("/{token}", response_class=HTMLResponse)
def application_page(
    token: str,
    request: Request,
    settings: AppSettings,
    workflows: Workflows,
    session: DbSession,
    step: str | None = None,
    error: str | None = None,
    sig: str | None = None,
) -> Response:
    error = page_messages().shown(token, error, sig)  # only a message we wrote for this page
    page = application_pages.application_page(session, settings, workflows, token, step)
    if page is None:
        unknown = {
            "organization_name": "gigcover",
            "heading": "This link does not work",
            "steps": None,
            "message": "Check that you opened the whole link from your email, or ask for a new one.",
        }
        return TEMPLATES.TemplateResponse(request, "ended.html", unknown, status_code=404, headers=NO_STORE)
    row, contractor, current, status = page.row, page.contractor, page.step, page.status
    if status == Status.APPLICATION_COMPLETE:
        return redirect(row.success_url)
    context: dict[str, Any] = {
        "organization_name": page.organization_name,
        "sandbox": row.environment == "sandbox",
        "error": error,
        "cancel_url": row.cancel_url,
    }
    if status in (Status.EXPIRED, Status.INELIGIBLE):
        heading = (
            "This application has expired" if status == Status.EXPIRED else "We cannot offer this coverage"
        )
        message = row.ended_reason or "Please ask for a new application link."
        return TEMPLATES.TemplateResponse(
            request,
            "ended.html",
            {**context, "heading": heading, "message": message, "steps": None},
            headers=NO_STORE,
        )
    if status == Status.MANUAL_REVIEW:
        return TEMPLATES.TemplateResponse(
            request,
            "manual_review.html",
            {
                **context,
                "steps": None,
                "email": contractor.email,
                "job_name": page.job_name,
                "expires": datetime_utc(row.expires_at),
            },
            headers=NO_STORE,
        )
    shown = page.shown
    visible = [s for s in steps_for(row.withhold_premium) if s is not Step.APPLICATION_COMPLETE]
    previous = visible[visible.index(shown) - 1] if shown in visible and visible.index(shown) > 0 else None
    context |= {
        "steps": [
            {"label": LABELS[s], "current": s is shown, "done": reached(current, s) and s is not current}
            for s in visible
        ],
        "action": f"/apply/{token}/{shown.value}",
        "back_url": _page_url(token, previous),
        "contractor_name": f"{contractor.first_name} {contractor.last_name}",
        "job_name": page.job_name,
        "coverage": ", ".join(COVERAGE_NAMES.get(c, c) for c in row.coverage_type),
        "work_state": row.work_state,
        "premium": money(row.premium),
        "withheld": row.withhold_premium,
        "general_opt_in": row.is_general_opt_in,  # no premium now: each assignment's is billed to the org
        "card_summary": page.card_summary,
        "c": contractor,
        "a": row.answers or {},
        "states": sorted(US_STATES.items(), key=lambda kv: kv[1]),
    }
    context |= page.card_form
    if page.hold_to_authenticate:
        context |= {
            "hold_to_authenticate": True,
            "authenticate_url": f"/apply/{token}/authenticate_hold",
            "authenticated_action": f"/apply/{token}/hold_authenticated",
        }
    if page.coverage_period:
        start, end = page.coverage_period
        context["period"] = f"{date(start)} to {date(end)}"
    return TEMPLATES.TemplateResponse(request, f"{shown.value}.html", context, headers=NO_STORE)


def _submit(
    workflows: WorkflowCalls,
    session: Session,
    token: str,
    update: UpdateName[Any, StepResult],
    payload: BaseModel | None,
    kept: str = "",
    step: Step | None = None,
) -> Response:
    """Submit a step; a refusal comes back on the page as its message (``kept``: what the form keeps;
    ``step``: the page it comes back on, if not the current one)."""
    return _answered(
        token,
        lambda: application_pages.submit_step(session, workflows, token, update, payload),
        STILL_WORKING.get(update),
        kept,
        step,
    )


def _answered(
    token: str,
    submit: Callable[[], application_pages.Submitted],
    still: str | None = None,
    kept: str = "",
    step: Step | None = None,
) -> Response:
    """Where a submitted step sends the contractor: on, or back to the page with the refusal's message
    (``still``: what to say when the workflow is still at it)."""
    try:
        submitted = submit()
    except DomainError as failed:
        if failed.kind is Refusal.NOT_FOUND:
            raise ApiError(404, failed.code, failed.message) from None
        working = still if failed.kind is Refusal.UNAVAILABLE else None
        return redirect(_page_url(token, step, working or failed.message) + kept)
    if submitted.result.status == Status.APPLICATION_COMPLETE:
        return redirect(submitted.success_url)
    return redirect(_page_url(token))


def _invalid(token: str, error: ValidationError, step: Step) -> Response:
    problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
    return redirect(_page_url(token, step, f"Please check: {problems}"))


class DetailsForm(TextInput):
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    phone: str = ""
    line1: str = ""
    line2: str = ""
    locality: str = ""
    region: str = ""
    postalcode: str = ""


@router.post("/{token}/verify_info")
def submit_details(
    token: str,
    form: Annotated[DetailsForm, Form()],
    request: Request,
    workflows: Workflows,
    session: DbSession,
) -> Response:
    try:
        details = ContractorDetails(
            **{k: (v.strip() or None) if k == "line2" else v.strip() for k, v in form.model_dump().items()}
        )
    except ValidationError as error:
        return _invalid(token, error, Step.VERIFY_INFO)
    return _submit(workflows, session, token, VERIFY_INFO, details)


class QuestionsForm(TextInput):
    hires_workers: str = ""
    licensed_if_required: str = ""
    claims_last_three_years: str = ""
    years_experience: str = ""


@router.post("/{token}/application_questions")
def submit_answers(
    token: str,
    form: Annotated[QuestionsForm, Form()],
    request: Request,
    workflows: Workflows,
    session: DbSession,
) -> Response:
    try:
        answers = Answers(
            hires_workers=form.hires_workers == "yes",
            licensed_if_required=form.licensed_if_required == "yes",
            claims_last_three_years=form.claims_last_three_years or 0,
            years_experience=form.years_experience,
        )
        if form.hires_workers not in ("yes", "no") or form.licensed_if_required not in ("yes", "no"):
            raise ValueError("answer every question")
    except ValueError:  # pydantic's ValidationError is a ValueError too: one message for both
        return redirect(_page_url(token, Step.APPLICATION_QUESTIONS, "Please answer every question."))
    return _submit(workflows, session, token, ANSWER_QUESTIONS, answers)


class SignatureForm(TextInput):
    typed_name: str = ""
    consent: str = ""


@router.post("/{token}/esignature_document")
def submit_signature(
    token: str,
    form: Annotated[SignatureForm, Form()],
    request: Request,
    workflows: Workflows,
    session: DbSession,
) -> Response:
    try:
        signature = SignatureInput(
            typed_name=" ".join(form.typed_name.split()),  # one space apart
            consent=form.consent == "yes",
            ip_address=client_address(request.scope) or "unknown",
        )
    except ValidationError as error:
        return _invalid(token, error, Step.ESIGNATURE_DOCUMENT)
    kept = "&consent=yes" if form.consent == "yes" else ""  # a refused signature keeps the box ticked
    return _submit(workflows, session, token, SIGN, signature, kept)


class CardForm(TextInput):
    payment_method_id: str = ""


@router.post("/{token}/add_card_details")
def submit_card(
    token: str, form: Annotated[CardForm, Form()], workflows: Workflows, session: DbSession
) -> Response:
    if not form.payment_method_id:
        return redirect(_page_url(token, Step.ADD_CARD_DETAILS, "Please enter your card."))
    try:
        card = CardInput(payment_method_id=form.payment_method_id)
    except ValidationError:  # not a card id Stripe.js makes: nothing to try
        message = "We could not use this card. Please try again."
        return redirect(_page_url(token, Step.ADD_CARD_DETAILS, message))
    # A refused card comes back on the card step, even from Review (the contractor went back to change it).
    return _submit(workflows, session, token, ADD_CARD, card, step=Step.ADD_CARD_DETAILS)


@router.post("/{token}/final_review")
def submit_completion(token: str, workflows: Workflows, session: DbSession) -> Response:
    return _submit(workflows, session, token, COMPLETE, None)


@router.post("/{token}/authenticate_hold")
def start_hold_authentication(
    token: str, settings: AppSettings, workflows: Workflows, session: DbSession
) -> Response:
    """The card step's script, once the contractor chose to confirm their card with their bank: the waiting
    hold's client secret, for Stripe.js to run the challenge (null: it needs none any more)."""
    return challenge_answer(
        lambda: application_pages.start_hold_authentication(session, settings, workflows, token)
    )


@router.post("/{token}/hold_authenticated")
def finish_hold_authentication(token: str, workflows: Workflows, session: DbSession) -> Response:
    """The bank's challenge is over: the hold is taken up if the processor says it holds the premium."""
    return _answered(
        token,
        lambda: application_pages.finish_hold_authentication(session, workflows, token),
        STILL_WORKING[ADD_CARD],
        step=Step.ADD_CARD_DETAILS,
    )
