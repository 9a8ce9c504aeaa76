"""What the contractor portal shows a signed-in contractor, and the one place they change their card.

A portal session is for an email address (services/portal_links.py); it sees every contractor record with
that address, in every organization and both environments, and nothing else: each read below starts from
those records, and an id from the browser (a policy, a record) is used only once it is found among them.
Sandbox records are shown too, apart and marked as test data (no real coverage, no real money): a platform
trying its integration sees its contractors' side of it, and nobody mistakes it for real coverage."""

import logging
import time
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from common.settings import Settings
from contracts.assignment import ASSIGNMENT_STATE, CARD_UPDATED, NewCard, assignment_workflow_id
from db.engine import rows_changed
from db.models import (
    ApplicationSession,
    Assignment,
    CardUpdate,
    Contractor,
    Document,
    Job,
    Organization,
    Payment,
    Policy,
    PortalSession,
)
from documents.issuing import document_store
from domain.application import Status as ApplicationStatus
from domain.errors import DomainError, Refusal, invalid, unavailable
from domain.payer import Payer
from domain.statuses import AssignmentStatus, PaymentStatus
from integrations.stripe_gateway import CardDeclined, StripeGateway, StripeRefused, StripeUnavailable
from services.audit import Actor, record
from services.cards import CARD_NOT_USABLE, PROCESSOR_UNAVAILABLE, customer_for, stripe_js_url
from services.lookups import card_on_file
from services.portal_links import SignedIn
from services.workflow_calls import WorkflowCalls

log = logging.getLogger("gigcover.portal")
SETUP_INTENTS_PER_SESSION = 10  # a contractor who tries a few cards; not a way to make SetupIntents in bulk
# An assignment whose charge waits for a card: a new one is tried at once (the workflow's CARD_UPDATED). One
# waiting for the bank's confirmation too: the workflow closes that PaymentIntent by its id first (cancelled,
# or counted if the contractor confirmed it that moment), so the new card and it never both move.
WAITING_FOR_A_CARD = (AssignmentStatus.CHARGE_FAILED,)
NO_APPLICATION = (
    "There is no card to replace here: a card is saved when you complete an application. "
    "Please contact {support} to finish yours."
)
STATUS_WORDS = {
    AssignmentStatus.PENDING: "Being set up",
    AssignmentStatus.AWAITING_APPLICATION: "Waiting for your application",
    AssignmentStatus.ACTIVE: "Covered",
    AssignmentStatus.CHARGE_FAILED: "Payment failed: replace your card",
    AssignmentStatus.AWAITING_AUTHENTICATION: "Your bank asks you to confirm the payment",
    AssignmentStatus.NOT_BOUND: "Not covered",
    AssignmentStatus.CANCELLED: "Cancelled",
    AssignmentStatus.EXPIRED: "Ended",
}


@dataclass(frozen=True)
class PolicyView:
    id: str
    job_name: str
    status: str
    effective_date: int
    expiration_date: int
    has_certificate: bool


@dataclass(frozen=True)
class AssignmentView:
    job_name: str
    status: str
    status_words: str
    effective_date: int
    end_date: int
    premium: int
    paid: int
    pays_by_card: bool
    charge_due_at: int | None  # an upcoming charge: when
    charge_amount: int  # and how much


@dataclass(frozen=True)
class MoneyView:
    at: int
    amount: int
    refund: bool
    job_name: str


@dataclass(frozen=True)
class CardView:
    record_id: str
    summary: str


@dataclass
class OrganizationView:
    name: str
    sandbox: bool
    support_name: str
    support_email: str
    card: CardView | None = None
    first_card: str | None = None  # a record with no card on file yet where one can be added
    policies: list[PolicyView] = field(default_factory=list)
    assignments: list[AssignmentView] = field(default_factory=list)
    money: list[MoneyView] = field(default_factory=list)

    @property
    def upcoming(self) -> list[AssignmentView]:
        return [a for a in self.assignments if a.charge_due_at is not None]


def _records(session: Session, email: str) -> list[Contractor]:
    return list(
        session.scalars(
            select(Contractor)
            .where(Contractor.email_key == email, Contractor.deleted_at.is_(None))
            .order_by(Contractor.environment.desc(), Contractor.seq)  # production before sandbox
        )
    )


def _record(session: Session, viewer: SignedIn, record_id: str) -> Contractor:
    found = session.scalar(
        select(Contractor).where(
            Contractor.id == record_id, Contractor.email_key == viewer.email, Contractor.deleted_at.is_(None)
        )
    )
    if found is None:
        raise DomainError("not_found", "There is nothing here for you.", kind=Refusal.NOT_FOUND)
    return found


def _jobs(session: Session, ids: set[str]) -> dict[str, str]:
    if not ids:
        return {}
    return {job_id: name for job_id, name in session.execute(select(Job.id, Job.name).where(Job.id.in_(ids)))}


def _money(
    session: Session, rows: list[Assignment], applications: list[ApplicationSession]
) -> list[MoneyView]:
    """Every charge the processor took and every refund it made, for these assignments and applications."""
    keyed = {f"assignment-{a.id}:": a.job_id for a in rows} | {
        f"application-{s.id}:": s.job_id or "" for s in applications
    }
    if not keyed:
        return []
    payments = session.scalars(
        select(Payment).where(
            or_(*(Payment.idempotency_key.startswith(prefix, autoescape=True) for prefix in keyed)),
            Payment.status.in_((PaymentStatus.CAPTURED, PaymentStatus.REFUNDED)),
        )
    ).all()
    jobs = _jobs(session, {job for job in keyed.values() if job})
    shown = []
    for payment in payments:
        prefix = payment.idempotency_key.split(":", 1)[0] + ":"
        refund = ":refund:" in payment.idempotency_key
        if payment.status is PaymentStatus.REFUNDED and not refund:
            continue
        job = jobs.get(keyed.get(prefix, ""), "")
        shown.append(MoneyView(payment.created, payment.amount, refund, job))
    return sorted(shown, key=lambda m: m.at, reverse=True)


CONFIRM_WITH_THE_BANK = (
    "Your bank asks you to confirm the payment: use the link in our email, or replace your card"
)


def overview(session: Session, viewer: SignedIn, workflows: WorkflowCalls) -> list[OrganizationView]:
    """Everything the contractor's records hold, one group per organization and environment. A failed
    charge whose workflow waits for the bank's confirmation says so: a new card does not pay it."""
    groups: dict[tuple[str, str], OrganizationView] = {}
    failed: list[tuple[list[AssignmentView], int, str]] = []  # where each failed card charge is shown
    for contractor in _records(session, viewer.email):
        key = (contractor.organization_id, contractor.environment)
        if key not in groups:
            organization = session.get(Organization, contractor.organization_id)
            assert organization is not None
            groups[key] = OrganizationView(
                name=organization.name,
                sandbox=contractor.environment != "production",
                support_name=organization.billing_contact_name or organization.name,
                support_email=organization.billing_contact_email or "",
            )
        group = groups[key]
        source = card_on_file(session, contractor.id)
        if source is not None and source.stripe_customer_id and group.card is None:
            group.card = CardView(contractor.id, source.card_summary or "Your card")
        elif group.card is None and group.first_card is None and source is None:
            group.first_card = contractor.id if _card_home(session, contractor.id) else None
        policies = session.scalars(
            select(Policy)
            .where(Policy.contractor_id == contractor.id, Policy.deleted_at.is_(None))
            .order_by(Policy.seq.desc())
        ).all()
        rows = session.scalars(
            select(Assignment)
            .where(Assignment.contractor_id == contractor.id, Assignment.deleted_at.is_(None))
            .order_by(Assignment.seq.desc())
        ).all()
        applications = session.scalars(
            select(ApplicationSession).where(ApplicationSession.contractor_id == contractor.id)
        ).all()
        jobs = _jobs(session, {p.job_id for p in policies} | {a.job_id for a in rows})
        group.policies += [
            PolicyView(
                p.id, jobs.get(p.job_id, ""), p.status, p.effective_date, p.expiration_date, bool(p.pdf_url)
            )
            for p in policies
        ]
        for a in rows:
            card = a.payer == Payer.CARD
            if card and a.status is AssignmentStatus.CHARGE_FAILED:
                failed.append((group.assignments, len(group.assignments), a.id))
            upcoming = card and a.status is AssignmentStatus.PENDING and (a.charge_due_at or 0) > 0
            group.assignments.append(
                AssignmentView(
                    job_name=jobs.get(a.job_id, ""),
                    status=a.status,
                    status_words=STATUS_WORDS.get(a.status, a.status),
                    effective_date=a.effective_date,
                    end_date=a.end_date,
                    premium=a.premium,
                    paid=a.charged,
                    pays_by_card=card,
                    charge_due_at=a.charge_due_at if upcoming else None,
                    charge_amount=max(0, a.premium - a.charged),
                )
            )
        group.money += _money(session, list(rows), list(applications))
    session.rollback()  # reads only; no transaction stays open while the workflows answer
    for shown, index, assignment_id in failed:
        live = workflows.query(assignment_workflow_id(assignment_id), ASSIGNMENT_STATE)
        if live is not None and live.authentication_intent:
            shown[index] = replace(shown[index], status_words=CONFIRM_WITH_THE_BANK)
    return sorted(groups.values(), key=lambda g: (g.sandbox, g.name.lower()))


@dataclass(frozen=True)
class Download:
    filename: str
    data: bytes


def certificate(session: Session, settings: Settings, viewer: SignedIn, policy_id: str) -> Download:
    """The certificate of insurance (PDF) of one of the contractor's own policies; any other is not found."""
    nothing = DomainError("not_found", "There is no such certificate for you.", kind=Refusal.NOT_FOUND)
    policy = session.scalar(select(Policy).where(Policy.id == policy_id, Policy.deleted_at.is_(None)))
    if policy is None or not policy.pdf_url:
        raise nothing
    owner = session.scalar(select(Contractor).where(Contractor.id == policy.contractor_id))
    if owner is None or owner.deleted_at is not None or owner.email_key != viewer.email:
        raise nothing
    parts = urlsplit(policy.pdf_url).path.split("/")  # /files/<token>/<filename>
    token = parts[2] if len(parts) == 4 and parts[1] == "files" else ""
    document = session.scalar(
        select(Document).where(
            Document.token == token,
            Document.organization_id == policy.organization_id,
            Document.deleted_at.is_(None),
            Document.erased_at.is_(None),
        )
    )
    session.rollback()
    if document is None:
        raise nothing
    return Download(document.filename, document_store(settings).get(document.storage_key))


# The card ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CardForm:
    organization_name: str
    sandbox: bool
    summary: str
    owed: int  # what waits for a new card (a failed charge, a declined increase)
    confirming: int  # what waits for the contractor to confirm with their bank (a new card pays it instead)
    publishable_key: str
    stripe_js_url: str


def _waiting(session: Session, contractor_id: str) -> list[Assignment]:
    """The card-paid assignments whose charge waits for a new card."""
    rows = session.scalars(
        select(Assignment).where(
            Assignment.contractor_id == contractor_id,
            Assignment.deleted_at.is_(None),
            Assignment.payer == Payer.CARD,
            Assignment.cancelled.is_(False),
        )
    ).all()
    return [
        a
        for a in rows
        if a.status in WAITING_FOR_A_CARD or (a.status is AssignmentStatus.ACTIVE and a.charged < a.premium)
    ]


def _confirming(session: Session, contractor_id: str) -> int:
    """What the contractor's card-paid assignments wait to have confirmed with the bank."""
    rows = session.scalars(
        select(Assignment).where(
            Assignment.contractor_id == contractor_id,
            Assignment.deleted_at.is_(None),
            Assignment.payer == Payer.CARD,
            Assignment.cancelled.is_(False),
            Assignment.status == AssignmentStatus.AWAITING_AUTHENTICATION,
        )
    ).all()
    return sum(max(0, a.premium - a.charged) for a in rows)


def _card_home(session: Session, contractor_id: str) -> ApplicationSession | None:
    """Where the record's card is kept: the application holding the card on file, else (a first card, the
    application finished without a card step) the newest completed application; None when there is none."""
    return card_on_file(session, contractor_id) or session.scalar(
        select(ApplicationSession)
        .where(
            ApplicationSession.contractor_id == contractor_id,
            ApplicationSession.status == ApplicationStatus.APPLICATION_COMPLETE,
        )
        .order_by(ApplicationSession.seq.desc())
        .limit(1)
    )


def _no_application(session: Session, contractor: Contractor) -> DomainError:
    organization = session.get(Organization, contractor.organization_id)
    support = (organization.billing_contact_name or organization.name) if organization else "the platform"
    return DomainError("no_application", NO_APPLICATION.format(support=support), kind=Refusal.CONFLICT)


def _customer(session: Session, settings: Settings, contractor: Contractor, home: ApplicationSession) -> str:
    """The Stripe customer of the record's card (made once, with the application's helper, and kept on the
    application a first card is stored on). Commits: no transaction stays open while Stripe answers."""
    home_id, customer = home.id, home.stripe_customer_id
    environment, contractor_id = contractor.environment, contractor.id
    session.commit()
    if customer is not None:
        return customer
    made = customer_for(
        settings, environment, contractor, {"contractor": contractor_id}, f"customer:{contractor_id}"
    )
    session.execute(
        update(ApplicationSession)
        .where(ApplicationSession.id == home_id, ApplicationSession.stripe_customer_id.is_(None))
        .values(stripe_customer_id=made)
    )
    session.commit()
    kept = session.scalar(
        select(ApplicationSession.stripe_customer_id).where(ApplicationSession.id == home_id)
    )
    session.commit()
    return kept or made


def card_form(
    session: Session, settings: Settings, viewer: SignedIn, record_id: str, workflows: WorkflowCalls
) -> CardForm:
    """What the replace-card page shows. Nothing is made at Stripe to show it. A failed charge whose workflow
    waits for the bank's confirmation (3-D Secure) is not retried with a new card: the page says to confirm
    it through the emailed link instead."""
    contractor = _record(session, viewer, record_id)
    source = card_on_file(session, contractor.id)
    organization = session.get(Organization, contractor.organization_id)
    assert organization is not None
    form = CardForm(
        organization_name=organization.name,
        sandbox=contractor.environment != "production",
        summary=(source.card_summary or "") if source else "",
        owed=0,
        confirming=_confirming(session, contractor.id),
        publishable_key=StripeGateway(settings, contractor.environment).publishable_key,
        stripe_js_url=stripe_js_url(settings),
    )
    waiting = [(a.id, a.premium - a.charged) for a in _waiting(session, contractor.id)]
    session.rollback()  # reads only; no transaction stays open while the workflows answer
    owed, confirming = 0, form.confirming
    for assignment_id, amount in waiting:
        live = workflows.query(assignment_workflow_id(assignment_id), ASSIGNMENT_STATE)
        if live is not None and live.authentication_intent:
            confirming += amount
        else:
            owed += amount
    return replace(form, owed=owed, confirming=confirming)


def start_card_setup(session: Session, settings: Settings, viewer: SignedIn, record_id: str) -> str:
    """A SetupIntent (its client secret, for Stripe.js) on the customer of the record's card on file (else a
    new customer, kept for the first card). A session makes SETUP_INTENTS_PER_SESSION at most. A record with
    no completed application is refused before anything is made at Stripe."""
    contractor = _record(session, viewer, record_id)
    if _card_home(session, contractor.id) is None:
        raise _no_application(session, contractor)
    counted = session.execute(
        update(PortalSession)
        .where(PortalSession.id == viewer.session_id, PortalSession.setup_intents < SETUP_INTENTS_PER_SESSION)
        .values(setup_intents=PortalSession.setup_intents + 1)
    )
    session.commit()
    if rows_changed(counted) != 1:
        raise DomainError(
            "too_many_attempts",
            "Too many attempts: sign out, sign in again with a new link, and try once more.",
            kind=Refusal.CONFLICT,
        )
    home = _card_home(session, contractor.id)
    if home is None:
        raise _no_application(session, contractor)
    environment, contractor_id = contractor.environment, contractor.id
    try:
        customer = _customer(session, settings, contractor, home)
        return StripeGateway(settings, environment).create_setup_intent(
            customer, {"contractor": contractor_id}
        )
    except StripeRefused:
        raise DomainError("card_setup_refused", CARD_NOT_USABLE, kind=Refusal.DECLINED) from None
    except StripeUnavailable:
        raise unavailable(PROCESSOR_UNAVAILABLE) from None


def replace_card(
    session: Session,
    settings: Settings,
    viewer: SignedIn,
    record_id: str,
    payment_method_id: str,
    workflows: WorkflowCalls,
    ip_address: str = "",
) -> None:
    """Save the new card on file for the record (a first one on its newest completed application, as the
    application's card step would have), and have every charge that waits for a card tried again at once with
    it; later charges use it (they read the card on file when they run). Each retry is kept as a CardUpdate
    in the card's own transaction, so the outbox sweep tells any assignment the request could not."""
    contractor = _record(session, viewer, record_id)
    home = _card_home(session, contractor.id)
    if home is None:
        raise _no_application(session, contractor)
    if not payment_method_id:
        raise invalid("Please enter your card.", "payment_method_id")
    home_id = home.id
    try:
        customer = _customer(session, settings, contractor, home)
        card = StripeGateway(settings, contractor.environment).save_card(customer, payment_method_id)
    except CardDeclined as declined:
        raise DomainError("card_declined", declined.message, "payment_method_id", Refusal.DECLINED) from None
    except StripeRefused:
        raise DomainError("card_rejected", CARD_NOT_USABLE, "payment_method_id", Refusal.DECLINED) from None
    except StripeUnavailable:
        raise unavailable(PROCESSOR_UNAVAILABLE) from None
    source = card_on_file(session, contractor.id) or session.scalar(
        select(ApplicationSession).where(ApplicationSession.id == home_id)
    )
    assert source is not None
    source.payment_method_id, source.card_summary = card.payment_method_id, card.summary
    now = int(time.time())
    updates = [
        CardUpdate(assignment_id=a.id, payment_method_id=card.payment_method_id, created=now)
        for a in _waiting(session, contractor.id)
    ]
    session.add_all(updates)
    record(
        session,
        contractor.organization_id,
        Actor(contractor.email, None, ip_address),
        "contractor.card_replaced",
        contractor.id,
        environment=contractor.environment,
        card=card.summary,
    )
    session.commit()
    sent = []
    for row in updates:
        try:
            workflows.signal(
                assignment_workflow_id(row.assignment_id),
                CARD_UPDATED,
                NewCard(payment_method_id=row.payment_method_id),
            )
        except Exception:  # Temporal unreachable: the outbox sweep tells it (the card is saved already)
            log.warning("card update %d waits for the outbox sweep", row.id, exc_info=True)
            continue
        sent.append(row.id)
    if sent:
        session.execute(update(CardUpdate).where(CardUpdate.id.in_(sent)).values(dispatched=True))
        session.commit()
