"""The contractor's card: the form that saves one (a Stripe customer and a SetupIntent), and a new card for
an assignment whose charge failed (the charge is tried again at once)."""

from sqlalchemy.orm import Session

from common.settings import Settings
from db.models import ApplicationSession, Assignment, Contractor
from domain.errors import DomainError, Refusal, invalid
from integrations.stripe_gateway import CardDeclined, StripeGateway
from services.lookups import card_on_file
from services.workflow_calls import WorkflowCalls
from workflows.assignment_messages import NewCard, assignment_workflow_id


def stripe_js_url(settings: Settings) -> str:
    base = settings.stripe_api_base
    return f"{base.rstrip('/')}/js.stripe.com/v3/" if base else "https://js.stripe.com/v3/"


def card_form(
    settings: Settings, environment: str, customer_id: str, metadata: dict[str, str]
) -> dict[str, str]:
    """What the card page's Stripe.js needs: a SetupIntent for this visit, the publishable key of the
    environment's Stripe mode, the script."""
    gateway = StripeGateway(settings, environment)
    return {
        "client_secret": gateway.create_setup_intent(customer_id, metadata),
        "publishable_key": gateway.publishable_key,
        "stripe_js_url": stripe_js_url(settings),
    }


def customer_for(
    settings: Settings,
    environment: str,
    contractor: Contractor,
    metadata: dict[str, str],
    idempotency_key: str,
) -> str:
    return StripeGateway(settings, environment).create_customer(
        contractor.email, f"{contractor.first_name} {contractor.last_name}", metadata, idempotency_key
    )


def application_card_form(
    session: Session, settings: Settings, row: ApplicationSession, contractor: Contractor
) -> dict[str, str]:
    """A Stripe customer for the contractor (once per application) and a SetupIntent for this visit."""
    if row.stripe_customer_id is None:
        metadata = {"contractor": contractor.id, "organization": row.organization_id}
        row.stripe_customer_id = customer_for(
            settings, row.environment, contractor, metadata, f"customer:{row.id}"
        )
        session.commit()
    return card_form(settings, row.environment, row.stripe_customer_id, {"session": row.id})


def replacement_card_form(
    session: Session, settings: Settings, row: Assignment, contractor: Contractor
) -> dict[str, str]:
    """The form for a new card on an assignment: on the customer of the card on file (else a new one)."""
    source = card_on_file(session, row.contractor_id)
    customer = source.stripe_customer_id if source else None
    if customer is None:
        customer = customer_for(
            settings, row.environment, contractor, {"contractor": contractor.id}, f"customer:{contractor.id}"
        )
    return card_form(settings, row.environment, customer, {"assignment": row.id})


def replace_card(
    session: Session, settings: Settings, row: Assignment, payment_method_id: str, workflows: WorkflowCalls
) -> None:
    """Save the new card on file, and tell the assignment's workflow to charge it."""
    source = card_on_file(session, row.contractor_id)
    if source is None or source.stripe_customer_id is None or not payment_method_id:
        raise invalid("Please enter your card.", "payment_method_id")
    try:
        gateway = StripeGateway(settings, row.environment)
        card = gateway.save_card(source.stripe_customer_id, payment_method_id)
    except CardDeclined as declined:
        raise DomainError("card_declined", declined.message, "payment_method_id", Refusal.DECLINED) from None
    source.payment_method_id, source.card_summary = card.payment_method_id, card.summary
    session.commit()
    workflows.signal(
        assignment_workflow_id(row.id), "card_updated", NewCard(payment_method_id=card.payment_method_id)
    )
