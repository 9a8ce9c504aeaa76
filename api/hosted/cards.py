"""The page a contractor reaches from the charge-failure email: save a new card, and the assignment's
charge is tried again at once. The assignment id in the link (95 random bits) is the capability."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from activities.assignments import card_on_file
from api import workflow_calls
from api.deps import DbSession
from api.hosted.pages import NO_STORE, TEMPLATES, redirect
from api.schemas import TextInput
from db.models import Assignment, Contractor, Job, Organization
from integrations.stripe_gateway import CardDeclined, StripeGateway
from notifications.render import money
from workflows.assignment_messages import AssignmentState, NewCard

router = APIRouter(prefix="/cards", include_in_schema=False)


def _assignment(session: Session, assignment_id: str) -> Assignment | None:
    return session.scalar(
        select(Assignment).where(Assignment.id == assignment_id, Assignment.deleted_at.is_(None))
    )


@router.get("/{assignment_id}", response_class=HTMLResponse)
def update_card_page(
    assignment_id: str, request: Request, session: DbSession, saved: bool = False, error: str | None = None
) -> Response:
    row = _assignment(session, assignment_id)
    if row is None or row.payer != "card":
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
    state = workflow_calls.query(request, f"assignment-{row.id}", "state", AssignmentState)
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
        settings = request.app.state.settings
        source = card_on_file(session, row.contractor_id)
        customer = source.stripe_customer_id if source else None
        gateway = StripeGateway(settings)
        if customer is None:
            contractor = session.scalar(select(Contractor).where(Contractor.id == row.contractor_id))
            assert contractor is not None
            customer = gateway.create_customer(
                contractor.email,
                f"{contractor.first_name} {contractor.last_name}",
                {"contractor": contractor.id},
                f"customer:{contractor.id}",
            )
        base = settings.stripe_api_base
        context |= {
            "client_secret": gateway.create_setup_intent(customer, {"assignment": row.id}),
            "publishable_key": settings.stripe_publishable_key,
            "stripe_js_url": f"{base.rstrip('/')}/js.stripe.com/v3/" if base else "https://js.stripe.com/v3/",
        }
    return TEMPLATES.TemplateResponse(request, "update_card.html", context, headers=NO_STORE)


class CardForm(TextInput):
    payment_method_id: str = ""


@router.post("/{assignment_id}")
def save_new_card(
    assignment_id: str, form: Annotated[CardForm, Form()], request: Request, session: DbSession
) -> Response:
    row = _assignment(session, assignment_id)
    source = card_on_file(session, row.contractor_id) if row else None
    if row is None or source is None or source.stripe_customer_id is None or not form.payment_method_id:
        return redirect(f"/cards/{assignment_id}?error=Please+enter+your+card.")
    try:
        card = StripeGateway(request.app.state.settings).save_card(
            source.stripe_customer_id, form.payment_method_id
        )
    except CardDeclined as declined:
        return redirect(f"/cards/{assignment_id}?error={declined.message}")
    source.payment_method_id, source.card_summary = card.payment_method_id, card.summary
    session.commit()
    workflow_calls.call(
        request,
        lambda client: client.get_workflow_handle(f"assignment-{row.id}").signal(
            "card_updated", NewCard(payment_method_id=card.payment_method_id)
        ),
        workflow_calls.UPDATE_TIMEOUT,
    )
    return redirect(f"/cards/{assignment_id}?saved=true")
