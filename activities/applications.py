"""Side effects of the insurance application: saving what the contractor entered, the card hold and its
capture, binding the policy, and the confirmation email. Each is safe to retry."""

import hashlib
import logging
import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.base import MoneyActivities, charge_succeeded, processor_time, row_of
from contracts.application import (
    HOLD_WAITS_FOR_THE_BANK,
    Capture,
    CardAuthorization,
    CardHold,
    Completion,
    HoldConfirmation,
    Progress,
    SavedAnswers,
    SavedDetails,
    SavedSignature,
    Snapshots,
)
from contracts.assignment import Coverage
from db.models import ApplicationSession, Assignment, Contractor, Job, Organization, Payment, Policy, Quote
from documents.issuing import document_store, issue_policy_certificates
from domain.application import Status, Step
from domain.statuses import AssignmentStatus, PaymentStatus
from integrations.stripe_gateway import (
    HOLD_TO_AUTHENTICATE,
    AuthenticationRequired,
    CardDeclined,
    StripeRefused,
)
from notifications.catalog import EmailKind, PaymentConfirmation, PaymentReminder
from outbox.records import committed_items, enqueue_email, record_event
from services import representations as render
from services.assignments import cover_assignment_through_its_end, engagement_assignment
from services.policies import new_policy
from services.portal_links import portal_url

log = logging.getLogger("gigcover.applications")
# Stripe refused the card's id itself (no such PaymentMethod, one of another customer...): final, and the
# contractor is asked for the card again.
CARD_REJECTED = "CardRejected"
CARD_NOT_USABLE = "We could not use this card. Please enter your card again, or use another one."
HOLD_NOT_CONFIRMED = "Your bank did not confirm this card. Please try again, or use another card."


def _waits_for_the_bank(payment_intent_id: str) -> ApplicationError:
    """The card step's hold waits for the contractor to authenticate it with their bank (not a decline)."""
    return ApplicationError(
        HOLD_TO_AUTHENTICATE, payment_intent_id, type=HOLD_WAITS_FOR_THE_BANK, non_retryable=True
    )


def _session(session: Session, row_id: str) -> ApplicationSession:
    return row_of(session, ApplicationSession, row_id)


class ApplicationActivities(MoneyActivities):
    @activity.defn
    def record_progress(self, progress: Progress) -> None:
        with self._sessions() as session:
            row = _session(session, progress.session_id)
            started = row.status == Status.CREATED and progress.status == Status.IN_PROGRESS
            row.step, row.status = progress.step, progress.status
            if started:  # the contractor's first step (a retry finds the event it recorded)
                snapshot = render.application_session(row, self._settings.public_base_url)
                event_id = f"ev_started_{row.id.removeprefix('ias_')}"
                record_event(
                    session, row.organization_id, row.environment, "application.started", snapshot, event_id
                )
            if progress.ended_reason is not None:
                row.ended_reason = progress.ended_reason
            session.commit()
            self._dispatcher.dispatch_from_thread(committed_items(session))  # application.started's

    @activity.defn
    def save_details(self, saved: SavedDetails) -> None:
        """The contractor's corrections go to their contractor record, which the platform sees too."""
        with self._sessions() as session:
            row = _session(session, saved.session_id)
            contractor = session.scalar(select(Contractor).where(Contractor.id == row.contractor_id))
            assert contractor is not None
            d = saved.details
            contractor.first_name, contractor.last_name, contractor.email, contractor.phone = (
                d.first_name,
                d.last_name,
                d.email,
                d.phone,
            )
            contractor.address = {
                **(contractor.address or {}),
                "line1": d.line1,
                "line2": d.line2,
                "locality": d.locality,
                "region": d.region,
                "postalcode": d.postalcode,
            }
            try:
                session.commit()
            except IntegrityError:  # another contractor of the organization has this email: say so, once
                raise ApplicationError(
                    f"email: {d.email} is the email of another contractor of this organization; enter "
                    "your own email address",
                    type="duplicate_email",
                    non_retryable=True,
                ) from None

    @activity.defn
    def save_answers(self, saved: SavedAnswers) -> None:
        with self._sessions() as session:
            _session(session, saved.session_id).answers = saved.answers.model_dump()
            session.commit()

    @activity.defn
    def save_signature(self, saved: SavedSignature) -> None:
        with self._sessions() as session:
            _session(session, saved.session_id).signature = {
                "typed_name": saved.typed_name,
                "ip_address": saved.ip_address,
                "signed_at": saved.signed_at,
                "consent": True,
            }
            session.commit()

    @activity.defn
    def authorize_card(self, request: CardAuthorization) -> CardHold:
        """Save the card on the contractor's Stripe customer and hold the premium on it.

        The hold is recorded under its idempotency key first, so a retried activity finds the
        PaymentIntent it already made instead of holding the amount twice."""
        with self._sessions() as session:
            row = _session(session, request.session_id)
            customer = row.stripe_customer_id
            if customer is None:
                raise ApplicationError("the card form was not prepared for this session", non_retryable=True)
            payment, claimed = self._claim_payment(session, request.idempotency_key, request.amount)
            session.commit()  # the intent is recorded before the hold is asked for
            stripe = self._stripe.for_environment(row.environment)  # the sandbox's test keys, or live keys
            if payment.status == PaymentStatus.AWAITING_AUTHENTICATION and payment.payment_intent_id:
                raise _waits_for_the_bank(payment.payment_intent_id)  # a retry: it still waits for them
            try:
                with processor_time():
                    card = stripe.save_card(customer, request.payment_method_id)
                    intent = payment.payment_intent_id or stripe.authorize(
                        customer,
                        request.payment_method_id,
                        request.amount,
                        {"session": row.id, "organization": row.organization_id},
                        request.idempotency_key,
                        look_first=not claimed,  # an earlier attempt may have held it: ask first
                        wait_for_authentication=request.wait_for_authentication,
                    )
            except AuthenticationRequired as asked:  # only when the contractor is on the page to answer
                payment.payment_intent_id = asked.payment_intent_id
                payment.status = PaymentStatus.AWAITING_AUTHENTICATION
                session.commit()  # the card goes on file only once its bank confirmed the hold
                raise _waits_for_the_bank(asked.payment_intent_id) from None
            except CardDeclined as declined:
                payment.status = PaymentStatus.DECLINED
                session.commit()
                raise ApplicationError(
                    declined.message, declined.decline_code, type="CardDeclined", non_retryable=True
                ) from None
            except StripeRefused as refused:  # a 4xx: asking again gets the same answer
                payment.status = PaymentStatus.DECLINED
                session.commit()
                log.warning("Stripe refused the card of %s: %s", row.id, refused.message)
                raise ApplicationError(
                    CARD_NOT_USABLE, refused.code, type=CARD_REJECTED, non_retryable=True
                ) from None
            payment.payment_intent_id, payment.status = intent, PaymentStatus.AUTHORIZED
            row.payment_method_id, row.payment_intent_id, row.card_summary = (
                card.payment_method_id,
                intent,
                card.summary,
            )
            self._remind_of_payment(session, row, request.amount)
            session.commit()
            self._dispatcher.dispatch_from_thread(committed_items(session))
            return CardHold(payment_intent_id=intent, card_summary=card.summary)

    @activity.defn
    def take_authenticated_hold(self, confirmation: HoldConfirmation) -> CardHold:
        """The contractor completed their bank's challenge for a hold that waited for them: it is the hold
        if the processor says it holds the premium on their card now; refused (CardDeclined) otherwise."""
        with self._sessions() as session:
            row = _session(session, confirmation.session_id)
            payment = session.scalar(
                select(Payment).where(Payment.payment_intent_id == confirmation.payment_intent_id)
            )
            if row.stripe_customer_id is None or payment is None:
                raise ApplicationError(HOLD_NOT_CONFIRMED, type="CardDeclined", non_retryable=True)
            stripe = self._stripe.for_environment(row.environment)
            try:
                with processor_time():
                    held = stripe.held_after_authentication(
                        confirmation.payment_intent_id, row.stripe_customer_id, confirmation.amount
                    )
                    card = (
                        stripe.save_card(row.stripe_customer_id, confirmation.payment_method_id)
                        if held
                        else None
                    )
            except StripeRefused as refused:
                raise ApplicationError(
                    CARD_NOT_USABLE, refused.code, type=CARD_REJECTED, non_retryable=True
                ) from None
            if card is None:
                raise ApplicationError(HOLD_NOT_CONFIRMED, type="CardDeclined", non_retryable=True)
            payment.status = PaymentStatus.AUTHORIZED
            row.payment_intent_id, row.card_summary = confirmation.payment_intent_id, card.summary
            row.payment_method_id = card.payment_method_id
            self._remind_of_payment(session, row, confirmation.amount)
            session.commit()
            self._dispatcher.dispatch_from_thread(committed_items(session))
            return CardHold(payment_intent_id=confirmation.payment_intent_id, card_summary=card.summary)

    def _remind_of_payment(self, session: Session, row: ApplicationSession, amount: int) -> None:
        """Seed 001's Payment Reminder: the hold is not the charge; the premium is charged to this card when
        the contractor completes the application. One email per card the contractor enters, however often
        the activity is retried or the hold on that card is renewed (a renewal holds the same card again)."""
        contractor = session.scalar(select(Contractor).where(Contractor.id == row.contractor_id))
        job = session.scalar(select(Job).where(Job.id == row.job_id)) if row.job_id else None
        assert contractor is not None
        key = hashlib.sha256(f"{row.id}:reminder:{row.payment_method_id}".encode()).hexdigest()[:24]
        enqueue_email(
            session,
            row.organization_id,
            row.environment,
            EmailKind.PAYMENT_REMINDER,
            contractor.email,
            PaymentReminder(
                organization_name=session.get_one(Organization, row.organization_id).name,
                contractor_name=f"{contractor.first_name} {contractor.last_name}",
                amount=amount,
                payment_date=int(time.time()),
                payment_method=row.card_summary or "your card",
                job_name=job.name if job else None,
                portal_url=portal_url(self._settings),
            ),
            related={"application_session": row.id},
            email_id=f"em_{key}",
        )

    def _claim_payment(self, session: Session, key: str, amount: int) -> tuple[Payment, bool]:
        """The key's Payment row, and whether this attempt made it (else an earlier one did)."""
        existing = session.scalar(select(Payment).where(Payment.idempotency_key == key))
        if existing is not None:
            return existing, False
        payment = Payment(
            idempotency_key=key, amount=amount, status=PaymentStatus.CREATING, created=int(time.time())
        )
        session.add(payment)
        try:
            session.flush()
        except IntegrityError:
            session.rollback()
            return self._claim_payment(session, key, amount)[0], False
        return payment, True

    @activity.defn
    def release_hold(self, payment_intent_id: str) -> None:
        """Release a hold of the application whose workflow asks (with its environment's Stripe keys)."""
        workflow_id = activity.info().workflow_id
        assert workflow_id is not None, "called by an application's workflow"
        session_id = workflow_id.removeprefix("application-")
        with self._sessions() as session:
            environment = _session(session, session_id).environment
        try:
            with processor_time():
                self._stripe.for_environment(environment).cancel(payment_intent_id)
        except StripeRefused as refused:  # no such hold (any more): there is nothing left to release
            log.warning("Stripe refused to release hold %s: %s", payment_intent_id, refused.message)

    @activity.defn
    def capture_payment(self, request: Capture) -> int:
        """Capture the held premium, with ``invoice.charge_card_succeeded`` (once, however often retried)."""
        with self._sessions() as session:
            environment = _session(session, request.session_id).environment
        stripe = self._stripe.for_environment(environment)
        try:
            with processor_time():
                amount = stripe.capture(request.payment_intent_id, request.idempotency_key)
        except StripeRefused as refused:  # the hold lapsed or was released: capturing again cannot work
            raise ApplicationError(refused.message, type="CaptureRefused", non_retryable=True) from None
        with self._sessions() as session:
            payment = session.scalar(
                select(Payment).where(Payment.payment_intent_id == request.payment_intent_id)
            )
            if payment is not None:
                payment.status = PaymentStatus.CAPTURED
            row = _session(session, request.session_id)
            charge_succeeded(session, row, request.payment_intent_id, amount, application_session=row.id)
            session.commit()
            self._dispatcher.dispatch_from_thread(committed_items(session))
        return amount

    @activity.defn
    def bind_policy(self, session_id: str) -> str:
        """The policy from the session's quote, with its certificates (the same one again on a retry)."""
        with self._sessions() as session:
            row = _session(session, session_id)
            existing = session.scalar(
                select(Policy).where(Policy.quote_id == row.quote_id, Policy.deleted_at.is_(None))
            )
            policy = existing or self._new_policy(session, row)
            issue_policy_certificates(session, document_store(self._settings), self._settings, policy)
            row.policy_id = policy.id
            session.commit()
            return policy.id

    def _new_policy(self, session: Session, row: ApplicationSession) -> Policy:
        quote = session.scalar(select(Quote).where(Quote.id == row.quote_id))
        assert quote is not None
        policy = new_policy(row, quote)
        session.add(policy)
        session.flush()
        return policy

    @activity.defn
    def complete_application(self, completion: Completion) -> Snapshots:
        with self._sessions() as session:
            row = _session(session, completion.session_id)
            row.status, row.step = Status.APPLICATION_COMPLETE, Step.APPLICATION_COMPLETE
            row.completed_at = row.completed_at or int(time.time())
            row.policy_id = completion.policy_id or row.policy_id
            row.bill_id = completion.bill_id or row.bill_id
            session.commit()
            policy = (
                session.scalar(select(Policy).where(Policy.id == row.policy_id)) if row.policy_id else None
            )
            snapshot = render.application_session(row, self._settings.public_base_url)
            assignment = None
            if policy is not None:
                snapshot["certificates"] = render.policy(policy)["certificates"]
                assignment = self._activate_waiting_assignment(session, row, policy)
            return Snapshots(
                session=snapshot, policy=render.policy(policy) if policy else None, assignment=assignment
            )

    def _activate_waiting_assignment(
        self, session: Session, row: ApplicationSession, policy: Policy
    ) -> dict[str, Any] | None:
        """An assignment that sent this application (the standard path) is covered now: the application
        collected its premium (card) or billed it (remit)."""
        assignment = session.scalar(select(Assignment).where(Assignment.application_session_id == row.id))
        if assignment is None:
            return None
        if assignment.status == AssignmentStatus.AWAITING_APPLICATION:
            assignment.status, assignment.policy_id = AssignmentStatus.ACTIVE, policy.id
            assignment.certificates, assignment.charged = dict(policy.certificates), row.premium
            cover_assignment_through_its_end(session, self._settings, assignment)  # extended meanwhile
            session.commit()
        return render.assignment(assignment)

    @activity.defn
    def hand_over_engagement(self, session_id: str) -> str | None:
        """From here on the engagement's money belongs to its assignment's workflow: the assignment that sent
        this application, or (a first job, applied for from a quote) a new one covered by it. The workflow
        gets what the application collected, so invoices charge or refund the difference. Returns the
        assignment's id (the same one again on a retry)."""
        with self._sessions() as session:
            row = _session(session, session_id)
            if row.is_general_opt_in or row.policy_id is None:
                return None
            assignment = session.scalar(select(Assignment).where(Assignment.application_session_id == row.id))
            if assignment is None:
                assignment = engagement_assignment(session, row)
                session.add(assignment)
                session.commit()
            session.refresh(assignment)
            session.expunge(assignment)
            paid = None if row.withhold_premium else row.payment_intent_id
            coverage = Coverage(amount=row.premium, payment_intent_id=paid)
        if not self._dispatcher.run_from_thread(self._dispatcher.hand_over(assignment, coverage)):
            # The assignment ended (cancelled) while the contractor completed its application: nobody owns
            # the premium just captured, so it goes back to the card, once.
            log.warning("assignment %s ended before application %s completed", assignment.id, session_id)
            if paid is not None:
                self._refund_once(
                    assignment.environment,
                    paid,
                    coverage.amount,
                    {"assignment": assignment.id, "application_session": session_id},
                    f"application-{session_id}:refund:assignment-ended",
                )
        return assignment.id

    @activity.defn
    def send_payment_confirmation(self, session_id: str) -> None:
        with self._sessions() as session:
            row = _session(session, session_id)
            contractor = session.scalar(select(Contractor).where(Contractor.id == row.contractor_id))
            organization = session.get(Organization, row.organization_id)
            job = session.scalar(select(Job).where(Job.id == row.job_id)) if row.job_id else None
            assert contractor and organization and row.payment_intent_id
            enqueue_email(
                session,
                row.organization_id,
                row.environment,
                EmailKind.PAYMENT_CONFIRMATION,
                contractor.email,
                PaymentConfirmation(
                    organization_name=organization.name,
                    contractor_name=f"{contractor.first_name} {contractor.last_name}",
                    amount=row.premium,
                    reference_number=row.payment_intent_id,
                    payment_method=row.card_summary or "card",
                    paid_at=int(time.time()),
                    job_name=job.name if job else None,
                    portal_url=portal_url(self._settings),
                ),
                related={"application_session": row.id},
                email_id=f"em_confirm_{row.id.removeprefix('ias_')}",
            )
            session.commit()
            self._dispatcher.dispatch_from_thread(committed_items(session))

    @activity.defn
    def payment_method_of_session(self, session_id: str) -> str:
        with self._sessions() as session:
            row = _session(session, session_id)
            if row.payment_method_id is None:
                raise ApplicationError(f"session {session_id} has no saved card", non_retryable=True)
            return row.payment_method_id
