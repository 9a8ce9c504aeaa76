"""Side effects of an assignment: binding its coverage, charging and refunding the saved card, its emails
and its status. Each is safe to retry."""

import hashlib
import logging
import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from temporalio import activity

from activities.base import MoneyActivities, charge_succeeded, processor_time, row_of
from activities.refusals import refusals_are_final
from contracts.assignment import (
    AssignmentEmail,
    AssignmentProgress,
    ChargeOutcome,
    ChargeRequest,
    ClosingCharge,
    NewTerms,
    RefundRequest,
)
from db.models import (
    Assignment,
    Contractor,
    EmailMessage,
    Invoice,
    Job,
    Organization,
    Payment,
    Policy,
)
from documents.issuing import document_store, issue_policy_certificates
from domain.assignment_coverage import CoveragePath
from domain.dates import CoveragePeriod
from domain.payer import Payer
from domain.statuses import AssignmentStatus, InvoiceStatus, PaymentStatus, PolicyStatus
from integrations.stripe_gateway import AuthenticationRequired, CardDeclined, StripeRefused
from notifications.catalog import (
    AssignmentChargeFailure,
    AssignmentChargeReminder,
    AssignmentPaymentAuthentication,
    EmailContext,
    EmailKind,
    PaymentConfirmation,
    PremiumChangeForContractor,
    PremiumChangeForOrganization,
)
from outbox.records import committed_items, enqueue_email, record_event
from services import representations as render
from services.cards import issue_card_link
from services.lookups import card_on_file
from services.policies import cancel as cancel_policy
from services.policies import new_policy
from services.portal_links import portal_url
from services.quotes import new_quote

log = logging.getLogger(__name__)
ASKS_TO_AUTHENTICATE = "your bank asks you to confirm this payment"  # a reason, as the emails quote it


def _assignment(session: Session, row_id: str) -> Assignment:
    return row_of(session, Assignment, row_id)


class AssignmentActivities(MoneyActivities):
    @activity.defn
    def bind_assignment_coverage(self, assignment_id: str) -> str:
        """The assignment's policy: the matching one on file, or a new one bound from the application on
        file or a completed general opt-in. Its certificates go on the assignment."""
        with self._sessions() as session, refusals_are_final():
            row = _assignment(session, assignment_id)
            policy = (
                session.scalar(select(Policy).where(Policy.id == row.policy_id)) if row.policy_id else None
            )
            if policy is None:
                policy = self._bind_new_policy(session, row)
            issue_policy_certificates(session, document_store(self._settings), self._settings, policy)
            row.policy_id, row.certificates = policy.id, dict(policy.certificates)
            session.commit()
            return policy.id

    @activity.defn
    def rebind_assignment_terms(self, terms: NewTerms) -> str:
        """New terms before the premium is collected: the assignment takes them, and its coverage follows.
        A policy bound for this assignment alone (from a general opt-in or the application on file) is
        cancelled when the terms no longer match it, and a new one is bound for the new terms; a policy on
        file is only referred to (and stays). The assignment shows the certificates of its policy now.
        Returns the policy's id (the same one again on a retry)."""
        with self._sessions() as session, refusals_are_final():
            row = _assignment(session, terms.assignment_id)
            current = (
                session.scalar(select(Policy).where(Policy.id == row.policy_id)) if row.policy_id else None
            )
            unchanged = (
                row.contractor_id,
                row.job_id,
                sorted(row.coverage_type),
                row.effective_date,
                row.end_date,
                row.coverage_path,
            ) == (
                terms.contractor_id,
                terms.job_id,
                sorted(terms.coverage_type),
                terms.effective_date,
                terms.end_date,
                terms.coverage_path,
            )
            keep = current is not None and (
                current.id == terms.policy_id or (terms.policy_id is None and unchanged)
            )
            bound_for_it = row.coverage_path != CoveragePath.EXISTING_POLICY  # not a policy on file
            if current is not None and not keep and bound_for_it and current.status == PolicyStatus.ACTIVE:
                cancel_policy(session, current)  # bound for this assignment's old terms alone
            row.contractor_id, row.job_id, row.coverage_type = (
                terms.contractor_id,
                terms.job_id,
                list(terms.coverage_type),
            )
            row.effective_date, row.end_date, row.bind = terms.effective_date, terms.end_date, terms.bind
            row.coverage_path, row.eligible_result, row.eligible_message = (
                terms.coverage_path,
                True,
                terms.eligible_message,
            )
            row.net_rate, row.premium = terms.net_rate, terms.premium
            row.status, row.charge_due_at = AssignmentStatus.PENDING, None
            policy = current if keep else None
            if policy is None and terms.policy_id:
                policy = session.scalar(select(Policy).where(Policy.id == terms.policy_id))
            if policy is None:
                policy = self._bind_new_policy(session, row)
            issue_policy_certificates(session, document_store(self._settings), self._settings, policy)
            row.policy_id, row.certificates = policy.id, dict(policy.certificates)
            session.commit()
            self._dispatcher.dispatch_from_thread(committed_items(session))  # policy.cancelled's
            return policy.id

    def _bind_new_policy(self, session: Session, row: Assignment) -> Policy:
        """The assignment's coverage for its own dates, rated now, bound from the application on file (or
        the completed general opt-in, which covers workers' comp only)."""
        contractor = session.scalar(select(Contractor).where(Contractor.id == row.contractor_id))
        job = session.scalar(select(Job).where(Job.id == row.job_id))
        assert contractor and job
        period = CoveragePeriod(row.effective_date, row.end_date)
        quote = new_quote(session, row, contractor, job, period, row.coverage_type)
        policy = new_policy(row, quote)
        session.add_all([quote, policy])
        session.flush()
        return policy

    @activity.defn
    def charge_card(self, request: ChargeRequest) -> ChargeOutcome:
        """Charge the saved card once per idempotency key. A decline is an outcome here, not an error."""
        with self._sessions() as session:
            row = _assignment(session, request.assignment_id)
            done = session.scalar(select(Payment).where(Payment.idempotency_key == request.idempotency_key))
            if done is not None and done.payment_intent_id:
                return ChargeOutcome(ok=True, payment_intent_id=done.payment_intent_id)
            source = card_on_file(session, row.contractor_id)
            if source is None or source.stripe_customer_id is None or source.payment_method_id is None:
                return ChargeOutcome(ok=False, message="there is no card on file")
            # The intent is recorded before the charge is asked for: a retry that finds it (the answer to an
            # earlier attempt may never have come) asks the processor what the key charged first.
            payment = done or Payment(
                idempotency_key=request.idempotency_key,
                amount=request.amount,
                status=PaymentStatus.CHARGING,
                created=int(time.time()),
            )
            session.add(payment)
            session.commit()
            try:
                with processor_time():
                    intent = self._stripe.for_environment(row.environment).charge_saved_card(
                        source.stripe_customer_id,
                        source.payment_method_id,
                        request.amount,
                        {"assignment": row.id, "organization": row.organization_id},
                        request.idempotency_key,
                        look_first=done is not None,
                    )
            except AuthenticationRequired as waiting:  # nothing moved; the intent waits for the contractor
                payment.status = PaymentStatus.DECLINED
                session.commit()
                return ChargeOutcome(
                    ok=False,
                    message=ASKS_TO_AUTHENTICATE,
                    authentication_required=True,
                    payment_intent_id=waiting.payment_intent_id,
                )
            except CardDeclined as declined:
                payment.status = PaymentStatus.DECLINED
                session.commit()
                reason = declined.message.rstrip(".")
                return ChargeOutcome(ok=False, message=reason[:1].lower() + reason[1:])
            except StripeRefused:  # a 4xx (the card was removed, say): final, the contractor adds another
                payment.status = PaymentStatus.DECLINED
                session.commit()
                return ChargeOutcome(ok=False, message="the card on file could not be used")
            return self._charged(session, row, payment, intent, request.amount)

    @activity.defn
    def close_waiting_charge(self, closing: ClosingCharge) -> ChargeOutcome:
        """A charge that waited for the contractor's bank confirmation, by its PaymentIntent id (not looked up
        on the card on file now, which may have moved): ok when it went through (recorded as the payment,
        once); otherwise, when superseded (not ``take``), released at the processor; when taken up but still
        not confirmed, it waits again."""
        waiting = closing.waiting
        with self._sessions() as session:
            row = _assignment(session, closing.assignment_id)
            payment = session.scalar(
                select(Payment).where(Payment.idempotency_key == waiting.idempotency_key)
            )
            if payment is not None and payment.status == PaymentStatus.CAPTURED and payment.payment_intent_id:
                return ChargeOutcome(ok=True, payment_intent_id=payment.payment_intent_id)
            session.commit()  # only reads so far: no transaction stays open while the processor answers
            try:
                with processor_time():
                    now = self._stripe.for_environment(row.environment).close_waiting(
                        waiting.payment_intent_id, release=not closing.take
                    )
            except StripeRefused as refused:  # not a PaymentIntent the processor knows: nothing to take up
                log.warning("waiting charge %s of %s: %s", waiting.payment_intent_id, row.id, refused.message)
                return ChargeOutcome(ok=False, message="the payment could not be confirmed")
            ours = now.idempotency_key == waiting.idempotency_key and now.amount == waiting.amount
            if now.status == "succeeded" and ours:
                if payment is None:
                    payment = Payment(idempotency_key=waiting.idempotency_key, created=int(time.time()))
                    session.add(payment)
                return self._charged(session, row, payment, waiting.payment_intent_id, waiting.amount)
            if closing.take and ours and now.status != "canceled":
                return ChargeOutcome(
                    ok=False,
                    message=ASKS_TO_AUTHENTICATE,
                    authentication_required=True,
                    payment_intent_id=waiting.payment_intent_id,
                )
            return ChargeOutcome(ok=False, message="the payment was not confirmed")

    def _charged(
        self, session: Session, row: Assignment, payment: Payment, intent: str, amount: int
    ) -> ChargeOutcome:
        """A charge went through: its payments row, the assignment no longer due, and
        ``invoice.charge_card_succeeded``, committed together."""
        payment.amount, payment.payment_intent_id, payment.status = amount, intent, PaymentStatus.CAPTURED
        row.charge_due_at = None
        charge_succeeded(session, row, intent, amount, assignment=row.id)
        session.commit()
        self._dispatcher.dispatch_from_thread(committed_items(session))
        return ChargeOutcome(ok=True, payment_intent_id=intent)

    @activity.defn
    def refund_card(self, request: RefundRequest) -> str:
        with self._sessions() as session:
            environment = _assignment(session, request.assignment_id).environment
        return self._refund_once(
            environment,
            request.payment_intent_id,
            request.amount,
            {"assignment": request.assignment_id},
            request.idempotency_key,
        )

    @activity.defn
    def record_assignment_progress(self, progress: AssignmentProgress) -> dict[str, Any]:
        """Store the assignment's status and money, and the event announcing it if any, in one transaction
        (a retry records the event once: its id comes from the workflow). Returns the snapshot."""
        with self._sessions() as session:
            row = _assignment(session, progress.assignment_id)
            # Cancelled by an answer that did not wait for its refund: the refund's progress keeps it so.
            status = AssignmentStatus.CANCELLED if row.cancelled else progress.status
            row.status, row.charged, row.premium = status, progress.collected, progress.premium
            if progress.paid_invoice_id:  # the adjustment's key: the invoice's id, then what changed
                invoice_id = progress.paid_invoice_id.split(":")[0]
                invoice = session.scalar(select(Invoice).where(Invoice.id == invoice_id))
                if invoice is not None and invoice.status == InvoiceStatus.OPEN:
                    invoice.status, invoice.paid_at = InvoiceStatus.PAID, int(time.time())
            snapshot = render.assignment(row)
            if (event := progress.announce) is not None:
                data = {**snapshot, **event.extra}
                record_event(session, row.organization_id, row.environment, event.type, data, event.event_id)
            session.commit()
            self._dispatcher.dispatch_from_thread(committed_items(session))
            return snapshot

    @activity.defn
    def send_assignment_email(self, email: AssignmentEmail) -> None:
        with self._sessions() as session:
            row = _assignment(session, email.assignment_id)
            contractor = session.scalar(select(Contractor).where(Contractor.id == row.contractor_id))
            job = session.scalar(select(Job).where(Job.id == row.job_id))
            organization = session.get(Organization, row.organization_id)
            assert contractor and job and organization
            kind = EmailKind(email.kind)
            name = f"{contractor.first_name} {contractor.last_name}"
            source = card_on_file(session, contractor.id)
            method = source.card_summary if source and source.card_summary else "your card on file"
            key = hashlib.sha256(f"{row.id}:{email.key}".encode()).hexdigest()[:24]
            if session.scalar(select(EmailMessage.seq).where(EmailMessage.id == f"em_{key}")) is not None:
                return  # a retry of a step that sent it: the email (and its card link) exist once
            to, context = (
                contractor.email,
                self._context(session, kind, email, organization, name, job.name, method, row),
            )
            if kind in (EmailKind.PREMIUM_INCREASE_ORGANIZATION, EmailKind.PREMIUM_DECREASE_ORGANIZATION):
                if not organization.billing_contact_email:
                    return
                to = organization.billing_contact_email
            if kind is EmailKind.ASSIGNMENT_CHARGE_REMINDER:  # the notice it gives: when the card is charged
                row.charge_due_at = email.charge_at
            enqueue_email(
                session,
                row.organization_id,
                row.environment,
                kind,
                to,
                context,
                related={"assignment": row.id},
                email_id=f"em_{key}",
            )
            session.commit()
            self._dispatcher.dispatch_from_thread(committed_items(session))

    def _context(
        self,
        session: Session,
        kind: EmailKind,
        email: AssignmentEmail,
        organization: Organization,
        name: str,
        job: str,
        method: str,
        row: Assignment,
    ) -> EmailContext:
        org = organization.name
        if kind is EmailKind.ASSIGNMENT_CHARGE_REMINDER:
            return AssignmentChargeReminder(
                organization_name=org,
                contractor_name=name,
                job_name=job,
                amount=email.amount,
                charge_at=email.charge_at,
                payment_method=method,
                portal_url=portal_url(self._settings),
            )
        if kind is EmailKind.ASSIGNMENT_CHARGE_FAILURE:
            return AssignmentChargeFailure(
                organization_name=org,
                contractor_name=name,
                job_name=job,
                amount=email.amount,
                reason=email.reason,
                portal_url=portal_url(self._settings),
                coverage_active=email.coverage_active,
            )
        if kind is EmailKind.ASSIGNMENT_PAYMENT_AUTHENTICATION:
            return AssignmentPaymentAuthentication(
                organization_name=org,
                contractor_name=name,
                job_name=job,
                amount=email.amount,
                card_url=issue_card_link(session, self._settings, row.id),  # a fresh token per email
                portal_url=portal_url(self._settings),
                coverage_active=email.coverage_active,
            )
        if kind is EmailKind.PAYMENT_CONFIRMATION:
            return PaymentConfirmation(
                organization_name=org,
                contractor_name=name,
                amount=email.amount,
                reference_number=email.payment_intent_id or row.id,
                payment_method=method,
                paid_at=int(time.time()),
                job_name=job,
                portal_url=portal_url(self._settings),
            )
        if kind in (EmailKind.PREMIUM_INCREASE_CONTRACTOR, EmailKind.PREMIUM_DECREASE_CONTRACTOR):
            return PremiumChangeForContractor(
                organization_name=org,
                contractor_name=name,
                job_name=job,
                previous_amount=email.previous_amount,
                new_amount=email.amount,
                payment_method=method,
                portal_url=portal_url(self._settings),
            )
        paid_by = "your organization (remit)" if row.payer == Payer.REMIT else "the contractor's card"
        return PremiumChangeForOrganization(
            organization_name=org,
            representative_name=organization.billing_contact_name or org,
            contractor_name=name,
            job_name=job,
            previous_amount=email.previous_amount,
            new_amount=email.amount,
            paid_by=paid_by,
        )
