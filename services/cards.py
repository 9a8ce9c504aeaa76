"""The contractor's card: the form that saves one in an application (a Stripe customer and a SetupIntent), and
the page where the contractor confirms a charge their bank asked them to confirm (3-D Secure).

A card is replaced only in the contractor portal (services/portal.py). The confirm page of an assignment
opens only with a card link (``/cards/<token>``), emailed when the bank asks: a random token of which we
keep the SHA-256. It works for one assignment, until it expires, confirms one charge, and asks the
processor a few times at most. The assignment's id, which the platform, its webhooks and Stripe's metadata
all see, opens nothing. An older link (from a charge reminder or failure email, before the portal) saves
no card: its page sends the contractor to the portal."""

import secrets
import time
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from common.settings import Settings
from common.tokens import token_digest
from contracts.assignment import (
    ASSIGNMENT_STATE,
    PAYMENT_AUTHENTICATED,
    assignment_workflow_id,
)
from db.engine import rows_changed
from db.models import ApplicationSession, Assignment, CardLink, Contractor, Job, Organization
from domain.errors import DomainError, Refusal, unavailable
from domain.payer import Payer
from domain.statuses import AssignmentStatus
from integrations.stripe_gateway import CardDeclined, StripeGateway, StripeRefused, StripeUnavailable
from services.workflow_calls import WorkflowCalls

SETUP_INTENTS_PER_LINK = 10  # a contractor who retries a few cards; not a way to make SetupIntents in bulk
CARD_NOT_USABLE = "We could not use this card. Please enter your card again, or use another one."
PROCESSOR_UNAVAILABLE = "We could not reach our card processor just now. Please try again in a minute."


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
        contractor.email, contractor.full_name, metadata, idempotency_key
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


# Card links -----------------------------------------------------------------------------------------------


class LinkState(StrEnum):
    OPEN = "open"  # the form is offered
    USED = "used"  # it saved a card already
    EXPIRED = "expired"
    SETTLED = "settled"  # nothing is owed on the assignment any more (paid in full, cancelled, ended)
    UNKNOWN = "unknown"  # no such link (or not one for a card-paid assignment)


def _now() -> int:
    return int(time.time())


def issue_card_link(session: Session, settings: Settings, assignment_id: str) -> str:
    """A new card link for the assignment (added to the session; the caller commits): its URL, the only
    place its token exists."""
    token = secrets.token_urlsafe(32)  # 256 random bits
    now = _now()
    session.add(
        CardLink(
            token_hash=token_digest(token),
            assignment_id=assignment_id,
            created=now,
            expires_at=now + settings.card_link_lifetime_seconds,
            setup_intents=0,
        )
    )
    return f"{settings.public_base_url.rstrip('/')}/cards/{token}"


def _link(session: Session, token: str) -> tuple[LinkState, CardLink | None, Assignment | None]:
    link = session.scalar(select(CardLink).where(CardLink.token_hash == token_digest(token)))
    row = (
        session.scalar(
            select(Assignment).where(Assignment.id == link.assignment_id, Assignment.deleted_at.is_(None))
        )
        if link is not None
        else None
    )
    if link is None or row is None or row.payer != Payer.CARD:
        return LinkState.UNKNOWN, None, None
    if link.used_at is not None:
        return LinkState.USED, link, row
    if link.expires_at <= _now():
        return LinkState.EXPIRED, link, row
    if not card_still_needed(row):
        return LinkState.SETTLED, link, row
    return LinkState.OPEN, link, row


def card_still_needed(row: Assignment) -> bool:
    """Whether a card link of the assignment may still save a card: its charge is in its notice window or
    failed, or part of its premium is owed (a declined increase). Once it is paid in full, cancelled or
    ended, a card saved through an old email would replace the contractor's card for nothing."""
    if row.cancelled or row.status in (AssignmentStatus.CANCELLED, AssignmentStatus.EXPIRED):
        return False
    if row.status in (AssignmentStatus.PENDING, AssignmentStatus.CHARGE_FAILED):
        return True
    return row.charged < row.premium


def _open(session: Session, token: str) -> tuple[CardLink, Assignment]:
    state, link, row = _link(session, token)
    if state is LinkState.UNKNOWN or link is None or row is None:
        raise DomainError("card_link_unknown", "This link does not work.", kind=Refusal.NOT_FOUND)
    if state is LinkState.USED:
        raise DomainError("card_link_used", "This link has done its job already.", kind=Refusal.CONFLICT)
    if state is LinkState.EXPIRED:
        raise DomainError(
            "card_link_expired",
            "This link has expired: use the one in your newest email.",
            kind=Refusal.CONFLICT,
        )
    if state is LinkState.SETTLED:
        raise DomainError(
            "card_link_settled", "Nothing is owed for this assignment any more.", kind=Refusal.CONFLICT
        )
    return link, row


@dataclass(frozen=True)
class CardPage:
    state: LinkState
    organization_name: str = "gigcover"
    sandbox: bool = False
    amount_due: int = 0  # what is still owed: the whole premium, or the part a declined increase left
    job_name: str = ""
    reason: str | None = None
    publishable_key: str = ""
    stripe_js_url: str = ""
    authenticate: bool = False  # the charge waits for the contractor to confirm it with their bank (3DS)


def card_page(session: Session, settings: Settings, token: str, workflows: WorkflowCalls) -> CardPage:
    """What the update-card page shows for this link. Nothing is made at Stripe to show it."""
    state, _link_row, row = _link(session, token)
    if row is None:
        return CardPage(state)
    organization = session.get(Organization, row.organization_id)
    job = session.scalar(select(Job).where(Job.id == row.job_id))
    assert organization and job
    session.commit()  # only reads so far: no transaction stays open while the workflow answers
    live = (
        workflows.query(assignment_workflow_id(row.id), ASSIGNMENT_STATE) if state is LinkState.OPEN else None
    )
    return CardPage(
        state,
        organization_name=organization.name,
        sandbox=row.environment == "sandbox",
        amount_due=live.premium - live.collected if live else row.premium - row.charged,
        job_name=job.name,
        reason=live.last_failure if live else None,
        publishable_key=StripeGateway(settings, row.environment).publishable_key,
        stripe_js_url=stripe_js_url(settings),
        authenticate=bool(live and live.authentication_intent),
    )


def _count_attempt(session: Session, link: CardLink) -> None:
    """A link makes SETUP_INTENTS_PER_LINK calls to the processor at most (card setups, authentications)."""
    counted = session.execute(
        update(CardLink)
        .where(CardLink.id == link.id, CardLink.setup_intents < SETUP_INTENTS_PER_LINK)
        .values(setup_intents=CardLink.setup_intents + 1)
    )
    session.commit()
    if rows_changed(counted) != 1:
        raise DomainError(
            "too_many_attempts",
            "Too many attempts with this link: use the link in your newest email, or contact your platform.",
            kind=Refusal.CONFLICT,
        )


# 3-D Secure: a charge the contractor's bank asks them to confirm --------------------------------------------

NOTHING_TO_CONFIRM = "This payment does not need confirming any more: reload the page."
NOT_CONFIRMED = "Your bank did not confirm this payment. Please try again, or use another card."


def _waiting_charge(
    session: Session, token: str, workflows: WorkflowCalls
) -> tuple[CardLink, Assignment, str]:
    """The link, its assignment, and the PaymentIntent its workflow waits to see confirmed (taken from the
    workflow, never from the browser)."""
    link, row = _open(session, token)
    live = workflows.query(assignment_workflow_id(row.id), ASSIGNMENT_STATE)
    if live is None:
        raise unavailable("We could not look up this payment just now. Please try again in a minute.")
    if not live.authentication_intent:
        raise DomainError("nothing_to_authenticate", NOTHING_TO_CONFIRM, kind=Refusal.CONFLICT)
    return link, row, live.authentication_intent


def start_authentication(
    session: Session, settings: Settings, token: str, workflows: WorkflowCalls
) -> str | None:
    """The contractor chose to confirm the waiting charge: it is confirmed on-session with their card, and
    its client secret returned for Stripe.js to run their bank's challenge (None: it needs none any more).
    Counted with the link's card setups."""
    link, row, intent = _waiting_charge(session, token, workflows)
    _count_attempt(session, link)
    return authentication_secret(settings, row.environment, intent)


def authentication_secret(
    settings: Settings, environment: str, intent: str, customer_id: str | None = None
) -> str | None:
    """The client secret of ``intent`` (a payment or hold the workflow names, never the browser), confirmed
    on-session with the card it was tried with, for Stripe.js to run the bank's challenge; None: it needs
    none any more. ``customer_id``: whose it must be."""
    try:
        return StripeGateway(settings, environment).authentication_secret(intent, customer_id)
    except CardDeclined as declined:
        raise DomainError("card_declined", declined.message, kind=Refusal.DECLINED) from None
    except StripeRefused:
        raise DomainError("payment_not_confirmable", NOTHING_TO_CONFIRM, kind=Refusal.CONFLICT) from None
    except StripeUnavailable:
        raise unavailable(PROCESSOR_UNAVAILABLE) from None


def finish_authentication(session: Session, settings: Settings, token: str, workflows: WorkflowCalls) -> None:
    """The page says the bank confirmed the charge: once the processor says it went through, the link is
    spent and the workflow takes the charge up (under its own idempotency key: it is not charged again)."""
    link, row, intent = _waiting_charge(session, token, workflows)
    try:
        status = StripeGateway(settings, row.environment).status(intent)
    except StripeRefused:
        raise DomainError("payment_not_confirmable", NOTHING_TO_CONFIRM, kind=Refusal.CONFLICT) from None
    except StripeUnavailable:
        raise unavailable(PROCESSOR_UNAVAILABLE) from None
    if status != "succeeded":
        raise DomainError("authentication_failed", NOT_CONFIRMED, kind=Refusal.DECLINED)
    session.execute(
        update(CardLink).where(CardLink.id == link.id, CardLink.used_at.is_(None)).values(used_at=_now())
    )
    session.commit()
    workflows.signal(assignment_workflow_id(row.id), PAYMENT_AUTHENTICATED, intent)
