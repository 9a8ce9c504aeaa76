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
from typing import Any, TypeVar

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.assignments import AssignmentActivities
    from activities.documents import DocumentActivities
    from common.temporal import CHARGE_DUE_AT, PAYMENT_STAGE
    from domain.adjustments import refund_plan, settle
    from notifications.catalog import EmailKind
    from workflows.assignment_messages import (
        ASSIGNMENT_WORKFLOW,
        AdjustmentResult,
        Announcement,
        AssignmentEmail,
        AssignmentInput,
        AssignmentProgress,
        AssignmentState,
        CarriedState,
        ChargeRequest,
        InvoiceAdjustment,
        NewCard,
        RefundRequest,
    )
    from workflows.events import publish
    from workflows.messages import BillLine, BillRequest

QUICK = {"start_to_close_timeout": timedelta(seconds=30)}
# Since this patch the event announcing a status is recorded by the activity that stores the status, in
# one transaction (one activity fewer, and no moment when one is visible without the other).
EVENT_WITH_PROGRESS = "event-recorded-with-progress"
# Since this patch every step runs as a local activity: in the worker that runs the workflow, recorded as
# one marker event, without a round trip through the server's task queue. The steps are short and safe to
# repeat (ids and idempotency keys come from the workflow), so a step cut short by a crash simply runs
# again; it roughly halves what the Temporal server does per assignment.
LOCAL_STEPS = "steps-as-local-activities"
R = TypeVar("R")


@workflow.defn(name=ASSIGNMENT_WORKFLOW)
class AssignmentWorkflow:
    @workflow.init
    def __init__(self, a: AssignmentInput) -> None:
        self.a = a
        self.premium = a.premium
        self.revision = 0  # bumped by every adjustment
        self.card_revision = 0  # bumped when the contractor saves a new card
        self.invoice_id: str | None = None
        self.seen_invoices: list[str] = []
        self.adjustment_sequence = 0  # the newest adjustment taken, in the order the API committed them
        self.collected = 0  # captured minus refunded (or billed, for remit)
        self.payments: list[tuple[str, int]] = []  # (PaymentIntent, what is left of it to refund)
        self.charged = False
        self.charging = False
        self.active = False
        self.cancelled = False
        self.cancel_reason = ""
        self.charge_due_at: datetime | None = None
        self.status = "pending"
        self.last_failure: str | None = None
        self.ends_at = a.ends_at
        self.lock = asyncio.Lock()
        if a.carried is not None:  # continued as new: the coverage is bound and the premium settled
            c = a.carried
            self.premium, self.collected, self.payments = c.premium, c.collected, list(c.payments)
            self.revision, self.card_revision, self.invoice_id = c.revision, c.card_revision, c.invoice_id
            self.seen_invoices, self.status, self.ends_at = list(c.seen_invoices), c.status, c.ends_at
            self.adjustment_sequence = c.adjustment_sequence
            self.charged = self.active = c.status == "active"

    @workflow.run
    async def run(self, a: AssignmentInput) -> AssignmentState:
        if a.carried is not None:
            await self._stay_open_until_coverage_ends()
        elif a.coverage_path in ("existing_policy", "general_opt_in"):
            await self._step(
                AssignmentActivities.bind_assignment_coverage,
                a.assignment_id,
                "bind coverage",
            )
            if a.payer == "remit":
                await self._bill(self.premium, f"Insurance premium, assignment {a.assignment_id}")
                await self._activate(payment_intent=None)
            else:
                await self._collect_by_card()
            await self._stay_open_until_coverage_ends()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state()

    # Charging -------------------------------------------------------------------------------------------

    async def _collect_by_card(self) -> None:
        notice = True
        while not self.charged and not self.cancelled:
            revision, cards = self.revision, self.card_revision
            phase = asyncio.create_task(self._charge_after_notice(revision, cards, notice))
            await workflow.wait_condition(
                lambda revision=revision, phase=phase: (
                    phase.done() or ((self.revision != revision or self.cancelled) and not self.charging)
                )
            )
            if not phase.done():  # an adjustment (or a cancellation) before the charge: start over
                phase.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await phase
                notice = True
                continue
            if not phase.result():  # declined: wait for a new card (charged at once), or a new amount
                await workflow.wait_condition(
                    lambda revision=revision, cards=cards: (
                        self.card_revision != cards or self.revision != revision or self.cancelled
                    )
                )
                notice = self.revision != revision
        if self.charged:
            await self._activate(payment_intent=self.payments[-1][0])
            if self.premium != self.collected:  # adjusted while the charge was under way: correct it now
                await self._settle(self.collected)

    async def _charge_after_notice(self, revision: int, cards: int, notice: bool) -> bool:
        a, amount = self.a, self.premium
        if notice:
            self.charge_due_at = workflow.now() + timedelta(seconds=a.notice_seconds)
            self._stage("notice", self.charge_due_at)
            await self._email(
                EmailKind.ASSIGNMENT_CHARGE_REMINDER,
                f"reminder:r{revision}:c{cards}",
                amount=amount,
                charge_at=int(self.charge_due_at.timestamp()),
            )
            if a.notice_seconds > 0:  # zero: benchmarks and demos charge at once (no zero-length timer)
                await workflow.sleep(timedelta(seconds=a.notice_seconds), summary="notice before the charge")
        self.charging = True
        try:
            outcome = await self._step(
                AssignmentActivities.charge_card,
                ChargeRequest(
                    assignment_id=a.assignment_id,
                    amount=amount,
                    invoice_id=self.invoice_id,
                    idempotency_key=f"{workflow.info().workflow_id}:charge:r{revision}:c{cards}",
                ),
                "charge the saved card",
            )
        finally:
            self.charging = False
        if outcome.ok and outcome.payment_intent_id:
            self.charged, self.collected = True, amount
            self.payments.append((outcome.payment_intent_id, amount))
            return True
        self.last_failure = outcome.message or "the card was declined"
        self.status = "charge_failed"
        self._stage("charge_failed", None)
        await self._email(
            EmailKind.ASSIGNMENT_CHARGE_FAILURE,
            f"failure:r{revision}:c{cards}",
            amount=amount,
            reason=self.last_failure,
        )
        await self._progress_and_announce("invoice.charge_card_failed", failure_message=self.last_failure)
        return False

    async def _settle(self, previous: int) -> None:
        """After money moved: make what was collected equal the premium, and tell both sides."""
        a, rev = self.a, self.revision
        if a.payer == "remit":
            difference = self.premium - self.collected
            if difference:
                await self._bill(difference, f"Adjustment to the premium of assignment {a.assignment_id}")
        else:
            move = settle(self.collected, self.premium)
            if move.charge:
                outcome = await self._step(
                    AssignmentActivities.charge_card,
                    ChargeRequest(
                        assignment_id=a.assignment_id,
                        amount=move.charge,
                        invoice_id=self.invoice_id,
                        idempotency_key=f"{workflow.info().workflow_id}:debit:r{rev}",
                    ),
                    "charge the increase",
                )
                if outcome.ok and outcome.payment_intent_id:
                    self.payments.append((outcome.payment_intent_id, move.charge))
                    self.collected += move.charge
                else:
                    self.last_failure = outcome.message
            for payment_intent, part in refund_plan(self.payments, move.refund):
                await self._step(
                    AssignmentActivities.refund_card,
                    RefundRequest(
                        assignment_id=a.assignment_id,
                        payment_intent_id=payment_intent,
                        amount=part,
                        idempotency_key=f"{workflow.info().workflow_id}:refund:r{rev}:{payment_intent}",
                    ),
                    "refund the decrease",
                )
                self.payments = [
                    (p, left - part if p == payment_intent else left) for p, left in self.payments
                ]
                self.collected -= part
        if self.premium != previous and not self.cancelled:
            up = self.premium > previous
            if a.payer == "card":
                kind = EmailKind.PREMIUM_INCREASE_CONTRACTOR if up else EmailKind.PREMIUM_DECREASE_CONTRACTOR
                await self._email(kind, f"change:r{rev}", amount=self.premium, previous_amount=previous)
            kind = EmailKind.PREMIUM_INCREASE_ORGANIZATION if up else EmailKind.PREMIUM_DECREASE_ORGANIZATION
            await self._email(kind, f"change-org:r{rev}", amount=self.premium, previous_amount=previous)
        await self._progress(paid_invoice=self.invoice_id if a.payer == "card" else None)

    async def _bill(self, amount: int, description: str) -> None:
        a = self.a
        await self._step(
            DocumentActivities.issue_bill,
            BillRequest(
                bill_id=f"bl_{a.assignment_id.removeprefix('an_')}r{self.revision}",
                organization_id=a.organization_id,
                environment=a.environment,
                contractor_id=a.contractor_id,
                assignment_id=a.assignment_id,
                lines=[BillLine(description=description, amount=amount)],
            ),
            "bill the organization",
        )
        self.collected += amount

    async def _activate(self, payment_intent: str | None) -> None:
        self.active, self.status = True, "active"
        self._stage("paid" if payment_intent else "billed", None)
        await self._progress_and_announce(
            "assignment.active", paid_invoice=self.invoice_id if payment_intent else None
        )
        if payment_intent:
            await self._email(
                EmailKind.PAYMENT_CONFIRMATION,
                f"paid:{payment_intent}",
                amount=self.collected,
                payment_intent_id=payment_intent,
            )

    async def _stay_open_until_coverage_ends(self) -> None:
        while not self.cancelled:
            if self._history_is_long():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(self.a.model_copy(update={"carried": self._carry()}))
            ends_at = self.ends_at
            remaining = datetime.fromtimestamp(ends_at, UTC) - workflow.now()
            try:
                await workflow.wait_condition(
                    lambda ends_at=ends_at: (
                        self.cancelled or self.ends_at != ends_at or self._history_is_long()
                    ),
                    timeout=max(remaining, timedelta(seconds=1)),
                    timeout_summary="until the coverage ends",
                )
            except TimeoutError:
                self.status = "expired" if self.active else self.status
                await self._progress()
                return

    def _history_is_long(self) -> bool:
        limit = self.a.max_history_events
        if limit is not None:
            return workflow.info().get_current_history_length() > limit
        return workflow.info().is_continue_as_new_suggested()

    def _carry(self) -> CarriedState:
        return CarriedState(
            premium=self.premium,
            collected=self.collected,
            payments=self.payments,
            revision=self.revision,
            card_revision=self.card_revision,
            invoice_id=self.invoice_id,
            seen_invoices=self.seen_invoices[-200:],
            status=self.status,
            ends_at=self.ends_at,
            adjustment_sequence=self.adjustment_sequence,
        )

    # Small helpers ---------------------------------------------------------------------------------------

    async def _step(self, activity: Callable[[Any, Any], R], arg: object, summary: str) -> R:
        if workflow.patched(LOCAL_STEPS):  # decided at the first step, then memoized by the SDK
            return await workflow.execute_local_activity_method(activity, arg, summary=summary, **QUICK)
        return await workflow.execute_activity_method(activity, arg, summary=summary, **QUICK)

    def _stage(self, stage: str, due: datetime | None) -> None:
        if workflow.info().typed_search_attributes.get(PAYMENT_STAGE) is not None:
            updates = [PAYMENT_STAGE.value_set(stage)]
            if due is not None:
                updates.append(CHARGE_DUE_AT.value_set(due))
            workflow.upsert_search_attributes(updates)
        workflow.set_current_details(f"Payment stage: **{stage}** · premium {self.premium} cents")

    async def _email(self, kind: EmailKind, key: str, **amounts: object) -> None:
        await self._step(
            AssignmentActivities.send_assignment_email,
            AssignmentEmail(assignment_id=self.a.assignment_id, kind=kind.value, key=key, **amounts),  # type: ignore[arg-type]
            f"email: {kind.value}",
        )

    async def _progress(
        self, paid_invoice: str | None = None, announce: Announcement | None = None
    ) -> dict[str, object]:
        return await self._step(
            AssignmentActivities.record_assignment_progress,
            AssignmentProgress(
                assignment_id=self.a.assignment_id,
                status=self.status,
                collected=self.collected,
                premium=self.premium,
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

    @workflow.update
    async def adjust(self, adjustment: InvoiceAdjustment) -> AdjustmentResult:
        async with self.lock:
            overtaken = adjustment.sequence is not None and adjustment.sequence <= self.adjustment_sequence
            if not overtaken:
                self.adjustment_sequence = adjustment.sequence or self.adjustment_sequence
            # The same invoice again, or a resent one a newer adjustment has overtaken: nothing new.
            if overtaken or adjustment.invoice_id in self.seen_invoices:
                return AdjustmentResult(
                    premium=self.premium, before_charge=not self.charged, collected=self.collected
                )
            self.seen_invoices.append(adjustment.invoice_id)
            previous, self.premium, self.invoice_id = self.premium, adjustment.premium, adjustment.invoice_id
            self.revision += 1
            settled_now = self.active and (self.a.payer == "remit" or self.charged)
            if settled_now:
                await self._settle(previous)
            else:
                await self._progress()
            return AdjustmentResult(
                premium=self.premium, before_charge=not settled_now, collected=self.collected
            )

    @adjust.validator
    def _check_adjust(self, adjustment: InvoiceAdjustment) -> None:
        if self.cancelled:
            raise ValueError("the assignment is cancelled")
        if self.a.coverage_path not in ("existing_policy", "general_opt_in"):
            raise ValueError("this assignment has no premium to adjust")
        if adjustment.premium < 0:
            raise ValueError("a premium cannot be negative")

    @workflow.update
    def extend(self, ends_at: int) -> AssignmentState:
        self.ends_at = ends_at
        return self.state()

    @extend.validator
    def _check_extend(self, ends_at: int) -> None:
        if ends_at < self.ends_at:
            raise ValueError("an assignment cannot be shortened")

    @workflow.signal
    def card_updated(self, card: NewCard) -> None:
        """The contractor saved a new card: a failed charge is tried again."""
        self.card_revision += 1

    @workflow.update
    async def cancel(self, reason: str) -> AssignmentState:
        async with self.lock:
            self.cancelled, self.cancel_reason = True, reason
            await workflow.wait_condition(lambda: not self.charging)
            if self.collected:
                previous, self.premium = self.premium, 0
                self.revision += 1
                await self._settle(previous)
            self.status, self.active = "cancelled", False
            await self._progress_and_announce("assignment.cancelled", cancellation_reason=reason)
            return self.state()

    @cancel.validator
    def _check_cancel(self, reason: str) -> None:
        if self.cancelled:
            raise ValueError("the assignment is already cancelled")

    @workflow.query
    def state(self) -> AssignmentState:
        due = int(self.charge_due_at.timestamp()) if self.charge_due_at and not self.charged else None
        return AssignmentState(
            status=self.status,
            premium=self.premium,
            collected=self.collected,
            charge_due_at=due,
            revision=self.revision,
            last_failure=self.last_failure,
        )
