"""AssignmentWorkflow: coverage for one assignment, and its premium collected exactly once.

Card: remind the contractor, wait the notice window (24 hours), charge the saved card, then the assignment
is active. An invoice adjustment before the charge cancels the pending steps and starts them over with the
new premium (a new notice, a new window); after the charge it charges or refunds the difference. A charge
already under way when an adjustment arrives is finished, then corrected. Remit: the organization is billed
at once. The workflow stays open until the coverage ends, so adjustments keep working.
"""

import asyncio
import contextlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.assignments import AssignmentActivities
    from activities.base import REFUND_FAILED
    from activities.documents import DocumentActivities
    from common.bill_ids import derived_bill_id
    from common.temporal import CHARGE_DUE_AT, PAYMENT_STAGE
    from contracts.assignment import (
        ADJUST,
        ASSIGNMENT_STATE,
        ASSIGNMENT_WORKFLOW,
        CANCEL,
        CARD_UPDATED,
        COVERED,
        EXTEND,
        PAYMENT_AUTHENTICATED,
        REBIND,
        AdjustmentResult,
        Announcement,
        AssignmentEmail,
        AssignmentInput,
        AssignmentLedger,
        AssignmentProgress,
        AssignmentState,
        ChargeOutcome,
        ChargeRequest,
        ClosingCharge,
        Coverage,
        InvoiceAdjustment,
        NewCard,
        NewTerms,
        RefundRequest,
        WaitingCharge,
    )
    from contracts.delivery import BillLine, BillRequest
    from domain.adjustments import refund_plan, settle
    from domain.assignment_coverage import CoveragePath, binds_now
    from domain.payer import Payer
    from domain.statuses import AssignmentStatus, PaymentStage
    from notifications.catalog import EmailKind
    from workflows.events import publish

from workflows.activity_options import ActivityOptions

QUICK: ActivityOptions = {"start_to_close_timeout": timedelta(seconds=30)}
# Since this patch the event announcing a status is recorded by the activity that stores the status, in
# one transaction (one activity fewer, and no moment when one is visible without the other).
EVENT_WITH_PROGRESS = "event-recorded-with-progress"
# Since this patch every step runs as a local activity: in the worker that runs the workflow, recorded as
# one marker event, without a round trip through the server's task queue. The steps are short and safe to
# repeat (ids and idempotency keys come from the workflow), so a step cut short by a crash simply runs
# again; it roughly halves what the Temporal server does per assignment.
LOCAL_STEPS = "steps-as-local-activities"
# Since this patch a standard-path assignment's workflow waits for its contractor's application, then owns
# the money the application collected (before, such a run ended at once: the application owned it).
STANDARD_PATH_WAITS = "standard-path-waits-for-application"
# Since this patch an adjustment that carries its sequence is taken whenever it is the newest, even when an
# earlier one had the same key (an invoice PUT back to an amount it had before).
ADJUSTMENTS_BY_SEQUENCE = "adjustments-by-sequence"
# Since this patch a declined charge of an increase (after the premium was collected) leaves the invoice
# unpaid, announces ``invoice.charge_card_failed``, emails the contractor the card link, and charges the
# difference at once when a new card is saved (before, the decline was noted and the invoice marked paid).
DECLINED_INCREASE_STAYS_OWED = "declined-increase-stays-owed"
# Since this patch the steps that move money (charge, refund) run as regular activities again: a local
# activity waiting on a processor that stopped answering holds the workflow task (and every Update behind
# it), and its retry runs in the same worker beside the attempt still waiting. Each attempt's processor calls
# end before its timeout, and a retry asks the processor what the key moved before moving anything.
MONEY_STEPS = "money-steps-as-activities"
# Since this patch a bound assignment whose premium is not collected yet takes new terms (``rebind``): the
# new terms are bound, and the pending charge starts over with the new premium and a new notice.
REBIND_BEFORE_COLLECTION = "rebind-before-collection"

# Since this patch a charge the bank asks the contractor to authenticate (3-D Secure, off-session) is not a
# decline: the contractor is emailed a link to confirm it, the platform gets ``invoice.charge_card_failed``
# with ``failure_code`` ``authentication_required``, and once they have confirmed it the same charge (same
# idempotency key) is taken up: it moved once, at their bank's answer.
CHARGE_AUTHENTICATION = "charge-waits-for-authentication"

# Since this patch a refund the processor could not complete (``failed``, ``canceled``) is not counted as
# given back: what was collected stays as it is (owed back to the contractor), ``assignment.refund_failed``
# is announced and the dashboard lists it; no decrease email promises the refund (before, the step failed).
REFUND_FAILURE_OWED_BACK = "refund-failure-owed-back"
# Since this patch a bill's id has the one shape every bill's has (``bl_`` and a ULID's 26 characters),
# derived from the billing step's key (the assignment and revision), so a step run again finds its bill;
# before, it was ``bl_<assignment id>r<revision>``.
BILL_IDS_ONE_SHAPE = "bill-ids-one-shape"
# Since this patch a new card saved while a charge waits for the bank's confirmation (3-D Secure) does not
# retry it: the waiting PaymentIntent stays open (the contractor may be confirming it right now), and a retry
# would charge the new card under a new key, so both could succeed. The card is on file for later charges;
# the waiting one moves when the contractor confirms it through the emailed link.
CARD_KEEPS_WAITING_CHARGE = "card-update-keeps-waiting-charge"
# Since this patch an increase after the premium was collected that the bank asks the contractor to confirm
# (3-D Secure) is not a decline: as for the first charge, they are emailed a link to confirm it (their
# coverage stays), the platform gets ``invoice.charge_card_failed`` with ``failure_code``
# ``authentication_required``, the difference stays owed, and once they confirm it the same charge (same
# key) is taken up. Before, it was a declined increase (a charge-failure email asking for another card).
INCREASE_AUTHENTICATION = "increase-waits-for-authentication"
# Since this patch a first charge that waited for the contractor's bank confirmation is closed by its own
# PaymentIntent id when the wait ends: taken up if they confirmed it (not looked up by key on whichever card
# is on file by then), released if a new amount or a cancellation superseded it, and recorded (then
# corrected, or refunded after a cancellation) if it went through all the same. Before, a superseded one
# stayed open at the processor, and a later confirmation would have moved money no one recorded.
WAITING_CHARGES_CLOSED = "waiting-charges-closed"
# Since this patch a new card saved while a charge (or an increase) waits for the bank's confirmation pays
# it: the waiting PaymentIntent is closed by its id first (cancelled; or, confirmed at that moment, counted
# as the payment), then the new card is charged under a key of its own, so the two never both move. Before
# (CARD_KEEPS_WAITING_CHARGE), the new card was kept for later charges only.
NEW_CARD_SUPERSEDES_WAITING = "new-card-supersedes-waiting-charge"
MONEY: ActivityOptions = {
    "start_to_close_timeout": timedelta(seconds=30),
    "retry_policy": RetryPolicy(maximum_interval=timedelta(seconds=30)),
}
R = TypeVar("R")


@workflow.defn(name=ASSIGNMENT_WORKFLOW)
class AssignmentWorkflow:
    @workflow.init
    def __init__(self, a: AssignmentInput) -> None:
        self.a = a
        # Continued as new: the coverage is bound and the premium settled; the ledger goes on.
        self.ledger = (
            a.carried.model_copy(deep=True)
            if a.carried
            else AssignmentLedger(premium=a.premium, ends_at=a.ends_at)
        )
        if a.carried is None and a.coverage_path == CoveragePath.STANDARD:
            self.ledger.status = AssignmentStatus.AWAITING_APPLICATION
        self.lock = asyncio.Lock()
        self.rebinding = False  # new terms are being bound: the charge waits for them

    @workflow.run
    async def run(self, a: AssignmentInput) -> AssignmentState:
        if a.carried is not None:
            await self._stay_open_until_coverage_ends()
        elif binds_now(a.coverage_path):
            await self._step(
                AssignmentActivities.bind_assignment_coverage,
                a.assignment_id,
                "bind coverage",
            )
            if a.payer == Payer.REMIT:
                await self._bill(self.ledger.premium, f"Insurance premium, assignment {a.assignment_id}")
                await self._activate(payment_intent=None)
            else:
                await self._collect_by_card()
            await self._stay_open_until_coverage_ends()
        elif a.coverage_path == CoveragePath.STANDARD and workflow.patched(STANDARD_PATH_WAITS):
            await workflow.wait_condition(lambda: self.ledger.active or self.ledger.cancelled)
            if self.ledger.active:
                await self._stay_open_until_coverage_ends()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state()

    # Charging -------------------------------------------------------------------------------------------

    async def _collect_by_card(self) -> None:
        notice = True
        while not self.ledger.charged and not self.ledger.cancelled:
            revision, cards = self.ledger.revision, self.ledger.card_revision
            phase = asyncio.create_task(self._charge_after_notice(revision, cards, notice))

            def phase_over_or_moved(revision: int = revision, phase: asyncio.Task[bool] = phase) -> bool:
                return phase.done() or (
                    (self.ledger.revision != revision or self.ledger.cancelled) and not self.ledger.charging
                )

            await workflow.wait_condition(phase_over_or_moved)
            if not phase.done():  # an adjustment (or a cancellation) before the charge: start over
                phase.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await phase
                notice = True
                continue
            if not phase.result():  # declined: wait for a new card (charged at once), or a new amount
                authentications = self.ledger.authentications  # or the contractor's confirmation (3DS)

                def new_card_or_amount(
                    revision: int = revision, cards: int = cards, authentications: int = authentications
                ) -> bool:
                    return (
                        self.ledger.card_revision != cards
                        or self.ledger.revision != revision
                        or self.ledger.cancelled
                        or self.ledger.authentications != authentications
                    )

                await workflow.wait_condition(new_card_or_amount)
                self.ledger.authentication_intent = None
                waiting, self.ledger.waiting_charge = self.ledger.waiting_charge, None
                if (
                    waiting is not None
                    and workflow.patched(WAITING_CHARGES_CLOSED)
                    and await self._first_charge_closed(waiting)
                ):
                    continue  # it went through: charged (or, cancelled meanwhile, given back)
                notice = self.ledger.revision != revision
        if self.ledger.charged:
            await self._activate(payment_intent=self.ledger.payments[-1][0])
            if (
                self.ledger.premium != self.ledger.collected
            ):  # adjusted while the charge was under way: correct it now
                await self._settle(self.ledger.collected)

    async def _charge_after_notice(self, revision: int, cards: int, notice: bool) -> bool:
        a, amount = self.a, self.ledger.premium
        if notice:
            due = workflow.now() + timedelta(seconds=a.notice_seconds)
            self.ledger.charge_due_at = int(due.timestamp())
            self._stage(PaymentStage.NOTICE, due)
            await self._email(
                EmailKind.ASSIGNMENT_CHARGE_REMINDER,
                f"reminder:r{revision}:c{cards}",
                amount=amount,
                charge_at=self.ledger.charge_due_at,
            )
            if a.notice_seconds > 0:  # zero: benchmarks and demos charge at once (no zero-length timer)
                await workflow.sleep(timedelta(seconds=a.notice_seconds), summary="notice before the charge")
        if self.rebinding:  # never true in runs from before REBIND_BEFORE_COLLECTION: no command either way
            await workflow.wait_condition(lambda: not self.rebinding)
            if self.ledger.revision != revision:
                return await self._restarted()
        self.ledger.charging = True
        try:
            outcome = await self._money_step(
                AssignmentActivities.charge_card,
                ChargeRequest(
                    assignment_id=a.assignment_id,
                    amount=amount,
                    invoice_id=self.ledger.invoice_id,
                    idempotency_key=f"{workflow.info().workflow_id}:charge:r{revision}:c{cards}",
                ),
                "charge the saved card",
            )
        finally:
            self.ledger.charging = False
        if outcome.ok and outcome.payment_intent_id:
            self.ledger.charged, self.ledger.collected = True, amount
            self.ledger.payments.append((outcome.payment_intent_id, amount))
            return True
        if outcome.authentication_required and workflow.patched(CHARGE_AUTHENTICATION):
            await self._ask_to_authenticate(outcome, revision, cards, amount)
            return False
        self.ledger.last_failure = outcome.message or "the card was declined"
        self.ledger.status = AssignmentStatus.CHARGE_FAILED
        self._stage(PaymentStage.CHARGE_FAILED, None)
        await self._email(
            EmailKind.ASSIGNMENT_CHARGE_FAILURE,
            f"failure:r{revision}:c{cards}",
            amount=amount,
            reason=self.ledger.last_failure,
        )
        await self._progress_and_announce(
            "invoice.charge_card_failed", failure_message=self.ledger.last_failure
        )
        return False

    async def _restarted(self) -> bool:
        """New terms arrived as this phase was about to charge: _collect_by_card starts it over."""
        await workflow.wait_condition(lambda: False)  # cancelled by _collect_by_card, which saw the revision
        return False

    async def _close_increase_waiting(self) -> None:
        """An increase waiting for the bank is superseded (a new amount, a cancellation, the coverage's end):
        it is closed at the processor, or, confirmed just before, counted as collected; no later confirmation
        can move it."""
        waiting = self.ledger.waiting_charge
        if waiting is None or not self.ledger.charged:  # never set before INCREASE_AUTHENTICATION
            return
        self.ledger.waiting_charge, self.ledger.authentication_intent = None, None
        closed = await self._close_waiting(waiting, take=False)
        if closed.ok and closed.payment_intent_id:
            self._collected(closed.payment_intent_id, waiting.amount)

    def _collected(self, payment_intent_id: str, amount: int) -> None:
        """A charge went through: it is collected, and can be refunded from later."""
        self.ledger.payments.append((payment_intent_id, amount))
        self.ledger.collected += amount

    async def _close_waiting(self, waiting: WaitingCharge, take: bool) -> ChargeOutcome:
        """The charge that waited for the bank, by its own id: taken up (``take``) or closed (superseded)."""
        return await self._money_step(
            AssignmentActivities.close_waiting_charge,
            ClosingCharge(assignment_id=self.a.assignment_id, waiting=waiting, take=take),
            "take up the confirmed charge" if take else "close the superseded charge",
        )

    async def _first_charge_closed(self, waiting: WaitingCharge) -> bool:
        """The wait for the bank's confirmation of the first charge is over: True when that charge went
        through (the contractor confirmed it, now or just before it was superseded). It is then the premium
        collected; after a cancellation settled without it, it is given back at once."""
        ledger = self.ledger
        cancelled_before = ledger.cancelled  # a cancellation already settled: nobody else gives this back
        ledger.charging = True  # a cancellation arriving now waits for the answer, and settles with it
        try:
            outcome = await self._close_waiting(
                waiting, take=ledger.authentications != waiting.authentications
            )
        finally:
            ledger.charging = False
        if not (outcome.ok and outcome.payment_intent_id):
            return False
        # Recorded before any await, so a cancellation that waited for ``charging`` settles with it.
        self._collected(outcome.payment_intent_id, waiting.amount)
        ledger.charged = not cancelled_before
        if cancelled_before:
            previous, ledger.premium = ledger.premium, 0
            ledger.revision += 1
            await self._settle(previous)
        return True

    async def _ask_to_authenticate(
        self, outcome: ChargeOutcome, revision: int, cards: int, amount: int
    ) -> None:
        """The bank asks the contractor to confirm the charge: email them the link to do it, tell the
        platform, and (in _collect_by_card) wait for their confirmation, a new card or a new amount."""
        ledger = self.ledger
        ledger.authentication_intent = outcome.payment_intent_id
        if outcome.payment_intent_id:
            ledger.waiting_charge = WaitingCharge(
                payment_intent_id=outcome.payment_intent_id,
                amount=amount,
                idempotency_key=f"{workflow.info().workflow_id}:charge:r{revision}:c{cards}",
                authentications=ledger.authentications,
            )
        ledger.last_failure = outcome.message or "your bank asks you to confirm this payment"
        ledger.status = AssignmentStatus.CHARGE_FAILED
        self._stage(PaymentStage.AWAITING_AUTHENTICATION, None)
        await self._email(
            EmailKind.ASSIGNMENT_PAYMENT_AUTHENTICATION,
            f"authenticate:r{revision}:c{cards}:a{ledger.authentications}",
            amount=amount,
            reason=ledger.last_failure,
        )
        await self._progress_and_announce(
            "invoice.charge_card_failed",
            failure_message=ledger.last_failure,
            failure_code="authentication_required",
        )

    async def _settle(self, previous: int) -> None:
        """After the premium changed: make what was collected equal the premium, then tell both sides."""
        rev = self.ledger.revision  # the keys of this settlement's steps, whatever arrives meanwhile
        self.ledger.declined_increase_cards = None  # whatever was owed is settled anew from here
        await self._close_increase_waiting()  # superseded by the new amount
        moved = await self._move_the_difference(previous, rev)
        if moved is Settlement.INCREASE_DECLINED:
            return  # an increase the card declined: it stays owed, and both sides were told so
        await self._tell_of_the_change(previous, rev, refund_failed=moved is Settlement.REFUND_FAILED)
        await self._progress(paid_invoice=self.ledger.invoice_id if self.a.payer == Payer.CARD else None)

    async def _move_the_difference(self, previous: int, rev: int) -> "Settlement":
        """Bill (remit), charge or refund (card) the difference between the premium and what was collected.
        An increase the card declined is handled by ``_increase_declined``; a refund the processor could
        not complete stays owed back."""
        a = self.a
        if a.payer == Payer.REMIT:
            difference = self.ledger.premium - self.ledger.collected
            if difference:
                await self._bill(difference, f"Adjustment to the premium of assignment {a.assignment_id}")
            return Settlement.SETTLED
        move = settle(self.ledger.collected, self.ledger.premium)
        if move.charge:
            key = f"{workflow.info().workflow_id}:debit:r{rev}"
            outcome = await self._money_step(
                AssignmentActivities.charge_card,
                ChargeRequest(
                    assignment_id=a.assignment_id,
                    amount=move.charge,
                    invoice_id=self.ledger.invoice_id,
                    idempotency_key=key,
                ),
                "charge the increase",
            )
            if outcome.ok and outcome.payment_intent_id:
                self._collected(outcome.payment_intent_id, move.charge)
            elif outcome.authentication_required and workflow.patched(INCREASE_AUTHENTICATION):
                await self._increase_declined(previous, outcome.message, f"r{rev}", (outcome, key))
                return Settlement.INCREASE_DECLINED
            elif workflow.patched(DECLINED_INCREASE_STAYS_OWED):
                await self._increase_declined(previous, outcome.message, f"r{rev}")
                return Settlement.INCREASE_DECLINED
            else:
                self.ledger.last_failure = outcome.message
        given_back = [
            await self._refund(payment_intent, part, rev)
            for payment_intent, part in refund_plan(self.ledger.payments, move.refund)
        ]
        return Settlement.SETTLED if all(given_back) else Settlement.REFUND_FAILED

    async def _refund(self, payment_intent: str, part: int, rev: int) -> bool:
        """Give ``part`` back on the charge; False when the processor could not complete the refund (then
        it stays owed back to the contractor, and the platform is told)."""
        a = self.a
        try:
            await self._money_step(
                AssignmentActivities.refund_card,
                RefundRequest(
                    assignment_id=a.assignment_id,
                    payment_intent_id=payment_intent,
                    amount=part,
                    idempotency_key=f"{workflow.info().workflow_id}:refund:r{rev}:{payment_intent}",
                ),
                "refund the decrease",
            )
        except ActivityError as error:
            failure = _refund_failure(error)
            if failure is None or not workflow.patched(REFUND_FAILURE_OWED_BACK):
                raise
            self.ledger.last_failure = failure
            await self._progress_and_announce(
                "assignment.refund_failed",
                refund_amount=part,
                payment_intent=payment_intent,
                failure_message=failure,
            )
            return False
        self.ledger.payments = [
            (p, left - part if p == payment_intent else left) for p, left in self.ledger.payments
        ]
        self.ledger.collected -= part
        return True

    async def _tell_of_the_change(self, previous: int, rev: int, refund_failed: bool = False) -> None:
        """Email the contractor (card) and the organization that the premium went up or down (the contractor
        is not promised a refund that failed)."""
        ledger = self.ledger
        if ledger.premium == previous or ledger.cancelled:
            return
        up = ledger.premium > previous
        if self.a.payer == Payer.CARD and not refund_failed:
            kind = EmailKind.PREMIUM_INCREASE_CONTRACTOR if up else EmailKind.PREMIUM_DECREASE_CONTRACTOR
            await self._email(kind, f"change:r{rev}", amount=ledger.premium, previous_amount=previous)
        kind = EmailKind.PREMIUM_INCREASE_ORGANIZATION if up else EmailKind.PREMIUM_DECREASE_ORGANIZATION
        await self._email(kind, f"change-org:r{rev}", amount=ledger.premium, previous_amount=previous)

    async def _increase_declined(
        self,
        previous: int,
        message: str | None,
        attempt: str,
        asked: tuple[ChargeOutcome, str] | None = None,
    ) -> None:
        """The card was declined for an increase: the coverage stays (its first premium was collected),
        the difference stays owed on the unpaid invoice, both sides are told, and a new card
        is charged at once. ``asked``: the bank asks the contractor to confirm it (the waiting charge and
        its key): they are emailed the link to do so, and it is taken up once they have."""
        ledger, rev = self.ledger, self.ledger.revision
        ledger.declined_increase_cards = ledger.card_revision
        ledger.last_failure = message or "the card was declined"
        owed = ledger.premium - ledger.collected
        waiting = asked[0].payment_intent_id if asked is not None else None
        if asked is not None and waiting:
            ledger.authentication_intent = waiting
            ledger.waiting_charge = WaitingCharge(
                payment_intent_id=waiting,
                amount=owed,
                idempotency_key=asked[1],
                authentications=ledger.authentications,
            )
            await self._email(
                EmailKind.ASSIGNMENT_PAYMENT_AUTHENTICATION,
                f"authenticate:debit:{attempt}",
                amount=owed,
                reason=ledger.last_failure,
                coverage_active=True,
            )
        else:
            await self._email(
                EmailKind.ASSIGNMENT_CHARGE_FAILURE,
                f"failure:debit:{attempt}",
                amount=owed,
                previous_amount=previous,
                reason=ledger.last_failure,
                coverage_active=True,
            )
        if ledger.premium != previous:
            await self._email(
                EmailKind.PREMIUM_INCREASE_ORGANIZATION,
                f"change-org:r{rev}",
                amount=ledger.premium,
                previous_amount=previous,
            )
        await self._progress_and_announce(
            "invoice.charge_card_failed",
            failure_message=ledger.last_failure,
            **({"failure_code": "authentication_required"} if waiting else {}),
        )

    def _new_card_for_declined_increase(self) -> bool:
        cards = self.ledger.declined_increase_cards
        return cards is not None and cards != self.ledger.card_revision and not self.ledger.cancelled

    def _increase_confirmed(self) -> bool:
        """The contractor confirmed the increase their bank asked about (never true before the patch)."""
        waiting = self.ledger.waiting_charge
        return (
            waiting is not None
            and self.ledger.charged
            and self.ledger.authentications != waiting.authentications
            and not self.ledger.cancelled
        )

    async def _charge_declined_increase(self) -> None:
        """A new card after a declined increase: charge what is still owed on it, once per card. Or the
        contractor confirmed the increase their bank asked about: that same charge is taken up (its key)."""
        async with self.lock:
            ledger, a = self.ledger, self.a
            confirmed = ledger.waiting_charge if self._increase_confirmed() else None
            if confirmed is None and not self._new_card_for_declined_increase():
                return  # an adjustment or a cancellation settled it meanwhile
            if confirmed is None:  # a new card: the increase waiting for the bank (if any) is closed first
                await self._close_increase_waiting()
            owed, rev, cards = ledger.premium - ledger.collected, ledger.revision, ledger.card_revision
            ledger.waiting_charge, ledger.authentication_intent = None, None
            if owed <= 0:
                ledger.declined_increase_cards = None
                return
            key = f"{workflow.info().workflow_id}:debit:r{rev}:c{cards}"
            if confirmed is not None:  # by its own id: the same charge, whatever card is on file now
                outcome = await self._close_waiting(confirmed, take=True)
                owed = confirmed.amount
            else:
                outcome = await self._money_step(
                    AssignmentActivities.charge_card,
                    ChargeRequest(
                        assignment_id=a.assignment_id,
                        amount=owed,
                        invoice_id=ledger.invoice_id,
                        idempotency_key=key,
                    ),
                    "charge the increase on the new card",
                )
            if not (outcome.ok and outcome.payment_intent_id):
                asked = (
                    (outcome, confirmed.idempotency_key if confirmed else key)
                    if outcome.authentication_required and workflow.patched(INCREASE_AUTHENTICATION)
                    else None
                )
                attempt = f"r{rev}:c{cards}" + (f":a{ledger.authentications}" if asked else "")
                await self._increase_declined(ledger.premium, outcome.message, attempt, asked)
                return
            self._collected(outcome.payment_intent_id, owed)
            ledger.declined_increase_cards, ledger.last_failure = None, None
            await self._progress(paid_invoice=ledger.invoice_id)
            await self._email(
                EmailKind.PAYMENT_CONFIRMATION,
                f"paid:{outcome.payment_intent_id}",
                amount=owed,
                payment_intent_id=outcome.payment_intent_id,
            )

    def _bill_id(self) -> str:
        key = f"{self.a.assignment_id}r{self.ledger.revision}"
        if workflow.patched(BILL_IDS_ONE_SHAPE):
            return derived_bill_id(key)
        return f"bl_{key.removeprefix('an_')}"

    async def _bill(self, amount: int, description: str) -> None:
        a = self.a
        await self._step(
            DocumentActivities.issue_bill,
            BillRequest(
                bill_id=self._bill_id(),
                organization_id=a.organization_id,
                environment=a.environment,
                contractor_id=a.contractor_id,
                assignment_id=a.assignment_id,
                lines=[BillLine(description=description, amount=amount)],
            ),
            "bill the organization",
        )
        self.ledger.collected += amount

    async def _activate(self, payment_intent: str | None) -> None:
        self.ledger.status = AssignmentStatus.ACTIVE
        self._stage(PaymentStage.PAID if payment_intent else PaymentStage.BILLED, None)
        await self._progress_and_announce(
            "assignment.active", paid_invoice=self.ledger.invoice_id if payment_intent else None
        )
        if payment_intent:
            await self._email(
                EmailKind.PAYMENT_CONFIRMATION,
                f"paid:{payment_intent}",
                amount=self.ledger.collected,
                payment_intent_id=payment_intent,
            )

    async def _stay_open_until_coverage_ends(self) -> None:
        while not self.ledger.cancelled:
            if self._history_is_long():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(self.a.model_copy(update={"carried": self._carry()}))
            if self._new_card_for_declined_increase() or self._increase_confirmed():
                await self._charge_declined_increase()
                continue
            ends_at, cards = self.ledger.ends_at, self.ledger.card_revision
            remaining = datetime.fromtimestamp(ends_at, UTC) - workflow.now()

            def moved(ends_at: int = ends_at, cards: int = cards) -> bool:
                return (
                    self.ledger.cancelled
                    or self.ledger.ends_at != ends_at
                    or self._history_is_long()
                    or (
                        self.ledger.declined_increase_cards is not None and self.ledger.card_revision != cards
                    )
                    or self._increase_confirmed()
                )

            try:
                await workflow.wait_condition(
                    moved,
                    timeout=max(remaining, timedelta(seconds=1)),
                    timeout_summary="until the coverage ends",
                )
            except TimeoutError:
                await self._close_increase_waiting()
                if self.ledger.active:
                    self.ledger.status = AssignmentStatus.EXPIRED
                await self._progress()
                return

    def _history_is_long(self) -> bool:
        limit = self.a.max_history_events
        if limit is not None:
            return workflow.info().get_current_history_length() > limit
        return workflow.info().is_continue_as_new_suggested()

    def _carry(self) -> AssignmentLedger:
        return self.ledger.model_copy(update={"seen_invoices": self.ledger.seen_invoices[-200:]}, deep=True)

    # Small helpers ---------------------------------------------------------------------------------------

    async def _step(self, activity: Callable[[Any, Any], R], arg: object, summary: str) -> R:
        if workflow.patched(LOCAL_STEPS):  # decided at the first step, then memoized by the SDK
            return await workflow.execute_local_activity_method(activity, arg, summary=summary, **QUICK)
        return await workflow.execute_activity_method(activity, arg, summary=summary, **QUICK)

    async def _money_step(self, activity: Callable[[Any, Any], R], arg: object, summary: str) -> R:
        if workflow.patched(MONEY_STEPS):
            return await workflow.execute_activity_method(activity, arg, summary=summary, **MONEY)
        return await self._step(activity, arg, summary)

    def _stage(self, stage: PaymentStage, due: datetime | None) -> None:
        if workflow.info().typed_search_attributes.get(PAYMENT_STAGE) is not None:
            updates: list[SearchAttributeUpdate[Any]] = [PAYMENT_STAGE.value_set(stage)]
            if due is not None:
                updates.append(CHARGE_DUE_AT.value_set(due))
            workflow.upsert_search_attributes(updates)
        workflow.set_current_details(f"Payment stage: **{stage}** · premium {self.ledger.premium} cents")

    async def _email(self, kind: EmailKind, key: str, **amounts: object) -> None:
        await self._step(
            AssignmentActivities.send_assignment_email,
            AssignmentEmail(assignment_id=self.a.assignment_id, kind=kind.value, key=key, **amounts),
            f"email: {kind.value}",
        )

    async def _progress(
        self, paid_invoice: str | None = None, announce: Announcement | None = None
    ) -> dict[str, object]:
        return await self._step(
            AssignmentActivities.record_assignment_progress,
            AssignmentProgress(
                assignment_id=self.a.assignment_id,
                status=self.ledger.status,
                collected=self.ledger.collected,
                premium=self.ledger.premium,
                paid_invoice_id=paid_invoice,
                announce=announce,
            ),
            f"record: {announce.type}" if announce else "record progress",
        )

    async def _progress_and_announce(
        self, event_type: str, paid_invoice: str | None = None, **extra: object
    ) -> None:
        if workflow.patched(EVENT_WITH_PROGRESS):
            event = Announcement(event_id=f"ev_{workflow.uuid4().hex[:20]}", type=event_type, extra=extra)
            await self._progress(paid_invoice, announce=event)
        else:
            snapshot = await self._progress(paid_invoice)
            await publish(self.a.organization_id, self.a.environment, event_type, {**snapshot, **extra})

    # What the API calls -----------------------------------------------------------------------------------

    @workflow.update(name=ADJUST.name)
    async def adjust(self, adjustment: InvoiceAdjustment) -> AdjustmentResult:
        async with self.lock:
            overtaken = (
                adjustment.sequence is not None and adjustment.sequence <= self.ledger.adjustment_sequence
            )
            if not overtaken:
                self.ledger.adjustment_sequence = adjustment.sequence or self.ledger.adjustment_sequence
            # The same invoice again, or a resent one a newer adjustment has overtaken: nothing new.
            repeated = adjustment.invoice_id in self.ledger.seen_invoices
            newest = not overtaken and adjustment.sequence is not None
            if repeated and newest and workflow.patched(ADJUSTMENTS_BY_SEQUENCE):
                repeated = False  # the newest adjustment, back to an amount it had before
            if overtaken or repeated:
                return AdjustmentResult(
                    premium=self.ledger.premium,
                    before_charge=not self.ledger.charged,
                    collected=self.ledger.collected,
                )
            self.ledger.seen_invoices.append(adjustment.invoice_id)
            previous, self.ledger.premium, self.ledger.invoice_id = (
                self.ledger.premium,
                adjustment.premium,
                adjustment.invoice_id,
            )
            self.ledger.revision += 1
            settled_now = self.ledger.active and (self.a.payer == Payer.REMIT or self.ledger.charged)
            if settled_now:
                await self._settle(previous)
            else:
                await self._progress()
            return AdjustmentResult(
                premium=self.ledger.premium, before_charge=not settled_now, collected=self.ledger.collected
            )

    @adjust.validator
    def _check_adjust(self, adjustment: InvoiceAdjustment) -> None:
        if self.ledger.cancelled:
            raise ValueError("the assignment is cancelled")
        if not binds_now(self.a.coverage_path) and not self.ledger.active:
            if self.a.coverage_path == CoveragePath.STANDARD:
                raise ValueError("the contractor has not completed the application for this assignment yet")
            raise ValueError("this assignment has no premium to adjust")
        if adjustment.premium < 0:
            raise ValueError("a premium cannot be negative")

    @workflow.update(name=EXTEND.name)
    def extend(self, ends_at: int) -> AssignmentState:
        self.ledger.ends_at = ends_at
        return self.state()

    @extend.validator
    def _check_extend(self, ends_at: int) -> None:
        if ends_at < self.ledger.ends_at:
            raise ValueError("an assignment cannot be shortened")

    @workflow.update(name=REBIND.name)
    async def rebind(self, terms: NewTerms) -> AssignmentState:
        """New terms before the premium is collected: bound now, and the pending charge starts over with the
        new premium (a new reminder, a new notice, a new idempotency key). A charge already under way is
        finished first; if it collected the premium, the terms are final (refused)."""
        async with self.lock:
            await workflow.wait_condition(lambda: not self.ledger.charging)
            ledger = self.ledger
            if ledger.charged or ledger.collected or ledger.cancelled:
                raise ApplicationError(
                    "the premium is collected; its terms are final: to change them, cancel the assignment "
                    "(what was collected is refunded) and create a new one"
                    if not ledger.cancelled
                    else "the assignment is cancelled",
                    type="assignment_cancelled" if ledger.cancelled else "invoice_already_paid",
                )
            workflow.patched(REBIND_BEFORE_COLLECTION)
            self.rebinding = True
            try:
                await self._step(AssignmentActivities.rebind_assignment_terms, terms, "bind the new terms")
            finally:
                self.rebinding = False
            ledger.premium, ledger.ends_at = terms.premium, terms.end_date
            ledger.revision += 1  # the charge phase under way is cancelled and started over
            ledger.status, ledger.last_failure, ledger.charge_due_at = AssignmentStatus.PENDING, None, None
            await self._progress()
            return self.state()

    @rebind.validator
    def _check_rebind(self, terms: NewTerms) -> None:
        """The handler refuses a collected or cancelled one (after any charge under way), with its code."""
        if not binds_now(self.a.coverage_path) or self.a.payer != Payer.CARD:
            raise ValueError("only a card-paid assignment bound at once takes new terms before its charge")

    @workflow.signal(name=COVERED.name)
    def covered(self, coverage: Coverage) -> None:
        """The contractor's application collected the premium: from now on this workflow owns it."""
        ledger = self.ledger
        if ledger.active or ledger.cancelled:
            return
        ledger.premium = ledger.collected = coverage.amount
        if coverage.payment_intent_id:
            ledger.payments.append((coverage.payment_intent_id, coverage.amount))
        ledger.charged, ledger.status = True, AssignmentStatus.ACTIVE
        self._stage(PaymentStage.PAID if coverage.payment_intent_id else PaymentStage.BILLED, None)

    @workflow.signal(name=CARD_UPDATED.name)
    def card_updated(self, card: NewCard) -> None:
        """The contractor saved a new card: a failed charge is tried again with it, and one waiting for the
        bank's confirmation is closed first and paid with it (NEW_CARD_SUPERSEDES_WAITING; between
        CARD_KEEPS_WAITING_CHARGE and that patch, the card was kept for later charges only)."""
        if (
            self.ledger.authentication_intent
            and not workflow.patched(NEW_CARD_SUPERSEDES_WAITING)
            and workflow.patched(CARD_KEEPS_WAITING_CHARGE)
        ):
            return
        self.ledger.card_revision += 1

    @workflow.signal(name=PAYMENT_AUTHENTICATED.name)
    def payment_authenticated(self, payment_intent_id: str) -> None:
        """The contractor confirmed the waiting charge with their bank: it is taken up (the same key)."""
        if payment_intent_id and self.ledger.authentication_intent == payment_intent_id:
            self.ledger.authentications += 1

    @workflow.update(name=CANCEL.name)
    async def cancel(self, reason: str) -> AssignmentState:
        async with self.lock:
            self.ledger.cancelled, self.ledger.cancel_reason = True, reason
            await workflow.wait_condition(lambda: not self.ledger.charging)
            if self.ledger.collected:
                previous, self.ledger.premium = self.ledger.premium, 0
                self.ledger.revision += 1
                await self._settle(previous)
            self.ledger.status = AssignmentStatus.CANCELLED
            await self._progress_and_announce("assignment.cancelled", cancellation_reason=reason)
            return self.state()

    @cancel.validator
    def _check_cancel(self, reason: str) -> None:
        if self.ledger.cancelled:
            raise ValueError("the assignment is already cancelled")

    @workflow.query(name=ASSIGNMENT_STATE.name)
    def state(self) -> AssignmentState:
        due = self.ledger.charge_due_at if not self.ledger.charged else None
        return AssignmentState(
            status=self.ledger.status,
            premium=self.ledger.premium,
            collected=self.ledger.collected,
            charge_due_at=due,
            revision=self.ledger.revision,
            last_failure=self.ledger.last_failure,
            authentication_intent=self.ledger.authentication_intent,
        )


def _refund_failure(error: ActivityError) -> str | None:
    """Why the processor could not complete the refund, when that is why the step failed (else None)."""
    cause = error.cause
    if isinstance(cause, ApplicationError) and cause.type == REFUND_FAILED:
        return str(cause.message)
    return None


class Settlement(Enum):
    """How settling the difference ended."""

    SETTLED = "settled"
    INCREASE_DECLINED = "increase_declined"  # stays owed; both sides were told
    REFUND_FAILED = "refund_failed"  # stays owed back; the platform was told
