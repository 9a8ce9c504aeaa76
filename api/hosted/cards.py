"""The page a contractor reaches from the charge-failure email: save a new card, and the assignment's
charge is tried again at once. The assignment id in the link (95 random bits) is the capability."""

from typing import Annotated
from urllib.parse import quote as urlquote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import AppSettings, DbSession, Workflows
from api.hosted.rendering import NO_STORE, TEMPLATES, redirect
from api.hosted.security import page_messages
from common.schemas import TextInput
from db.models import Assignment, Contractor, Job, Organization
from domain.errors import DomainError
from domain.payer import Payer
from notifications.render import money
from services import cards
from workflows.assignment_messages import AssignmentState, assignment_workflow_id

router = APIRouter(prefix="/cards", include_in_schema=False)


def _assignment(session: Session, assignment_id: str) -> Assignment | None:
    return session.scalar(
        select(Assignment).where(Assignment.id == assignment_id, Assignment.deleted_at.is_(None))
    )


@router.get("/{assignment_id}", response_class=HTMLResponse)
def update_card_page(
    assignment_id: str,
    request: Request,
    settings: AppSettings,
    workflows: Workflows,
    session: DbSession,
    saved: bool = False,
    error: str | None = None,
    sig: str | None = None,
) -> Response:
    error = page_messages().shown(assignment_id, error, sig)  # only a message we wrote for this page
    row = _assignment(session, assignment_id)
    if row is None or row.payer != Payer.CARD:
        context = {
            "organization_name": "gigcover",
            "heading": "This link does not work",
            "steps": None,
            "cancel_url": None,
            "message": "Check that you opened the whole link from your email.",
        }
        return TEMPLATES.TemplateResponse(request, "ended.html", context, status_code=404, headers=NO_STORE)
    organization = session.get(Organization, row.organization_id)
    job = session.scalar(select(Job).where(Job.id == row.job_id))
    state = workflows.query(assignment_workflow_id(row.id), "state", AssignmentState)
    assert organization and job
    context = {
        "organization_name": organization.name,
        "sandbox": row.environment == "sandbox",
        "steps": None,
        "error": error,
        "premium": money(state.premium if state else row.premium),
        "job_name": job.name,
        "reason": state.last_failure if state else None,
        "saved": saved,
        "action": f"/cards/{row.id}",
    }
    if not saved:
        contractor = session.scalar(select(Contractor).where(Contractor.id == row.contractor_id))
        assert contractor is not None
        context |= cards.replacement_card_form(session, settings, row, contractor)
    return TEMPLATES.TemplateResponse(request, "update_card.html", context, headers=NO_STORE)


def _with_message(assignment_id: str, message: str) -> str:
    signature = page_messages().sign(assignment_id, message)
    return f"/cards/{assignment_id}?error={urlquote(message)}&sig={signature}"


class CardForm(TextInput):
    payment_method_id: str = ""


@router.post("/{assignment_id}")
def save_new_card(
    assignment_id: str,
    form: Annotated[CardForm, Form()],
    settings: AppSettings,
    workflows: Workflows,
    session: DbSession,
) -> Response:
    row = _assignment(session, assignment_id)
    if row is None:
        return redirect(_with_message(assignment_id, "Please enter your card."))
    try:
        cards.replace_card(session, settings, row, form.payment_method_id, workflows)
    except DomainError as refused:
        return redirect(_with_message(assignment_id, refused.message))
    return redirect(f"/cards/{assignment_id}?saved=true")
