"""ApplicationWorkflow: one contractor's insurance application, from the first page to bound coverage.

The hosted pages drive it with Updates, one per step, each checked by a validator first (a rejected
Update leaves no trace in the history). Entering a card holds the premium; completing captures it, binds
the policy, issues certificates, tells the platform (events) and the contractor (email). Answers that need
an underwriter wait for their decision (the ``review`` Update). An application that is not finished in time
expires.
"""

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.application_review import ApplicationReviewActivities
    from activities.applications import ApplicationActivities
    from activities.documents import DocumentActivities
    from common.temporal import SESSION_ID, STEP
    from contracts.application import (
        ADD_CARD,
        ANSWER_QUESTIONS,
        APPLICATION_STATE,
        APPLICATION_WORKFLOW,
        COMPLETE,
        EXPIRE,
        HOLD_AUTHENTICATED,
        HOLD_WAITS_FOR_THE_BANK,
        REVIEW,
        SIGN,
        VERIFY_INFO,
        Answers,
        ApplicationInput,
        ApplicationState,
        Capture,
        CardAuthorization,
        CardHold,
        CardInput,
        Completion,
        ContractorDetails,
        HoldConfirmation,
        Progress,
        ReviewDecision,
        ReviewEmail,
        ReviewRecord,
        SavedAnswers,
        SavedDetails,
        SavedSignature,
        SignatureInput,
        StepResult,
    )
    from contracts.delivery import BillLine, BillRequest
    from domain.application import (
        DECLINED_AFTER_REVIEW,
        NO_US_STATE,
        NOTHING_TO_CONFIRM,
        Assessment,
        Outcome,
        Status,
        Step,
        assess,
        ineligibility,
        next_step,
        reached,
        signature_refusal,
    )
    from domain.geography import US_STATES
    from workflows.application_state import HeldPremium, SessionState
    from workflows.events import publish

from workflows.activity_options import ActivityOptions

QUICK: ActivityOptions = {"start_to_close_timeout": timedelta(seconds=30)}
# Since this patch a completed application hands what it collected to its assignment's workflow (the
# assignment that sent it, or a new first one), which owns the engagement's money from then on.
ENGAGEMENT_HANDED_OVER = "engagement-handed-to-assignment"
# Since this patch more than two claims in three years send the application to an underwriter (status
# MANUAL_REVIEW, decided by the ``review`` Update) instead of ending it as ineligible.
CLAIMS_GO_TO_REVIEW = "claims-go-to-manual-review"
UNDER_REVIEW = "An underwriter is reviewing your answers; we will email you when they have decided."
# Stripe's 4xx answers come back as non-retryable errors (final); a 5xx or a timeout is retried, within a
# window: a day for the steps no one waits for, and less than the hosted page waits for the card step.
CARD_REFUSALS = ("CardDeclined", "CardRejected")
STRIPE_RETRIES = RetryPolicy(
    maximum_interval=timedelta(minutes=1),
    non_retryable_error_types=[*CARD_REFUSALS, "CaptureRefused"],
)
STRIPE: ActivityOptions = {
    "start_to_close_timeout": timedelta(seconds=60),
    "schedule_to_close_timeout": timedelta(days=1),
    "retry_policy": STRIPE_RETRIES,
}
HOLD_WHILE_THE_PAGE_WAITS: ActivityOptions = {
    "start_to_close_timeout": timedelta(seconds=40),
    "schedule_to_close_timeout": timedelta(seconds=45),  # the page's Update waits 60 s
    "retry_policy": STRIPE_RETRIES,
}
PROCESSOR_UNAVAILABLE = "We could not reach our card processor just now. Please try again in a minute."
# Since this patch a hold Stripe refuses to capture (it was released or lapsed) sends the contractor back to
# the card step, with a message, instead of failing the run.
CAPTURE_REFUSED_ASKS_FOR_CARD = "capture-refused-asks-for-card"
# Since this patch a renewal Stripe refuses (or cannot make within its window) keeps the hold there is; if
# that one lapses, completing asks for the card again (above), instead of failing the run.
RENEWAL_FAILURE_KEEPS_HOLD = "renewal-failure-keeps-hold"
# Since this patch the card hold is renewed by its own coroutine beside the lifetime's timer, and the run
# completes or expires under the lock a renewal takes (before, one loop waited for whichever came first).
RENEWAL_ON_ITS_OWN = "hold-renewal-on-its-own"
# Since this patch a hold the contractor's bank asks them to authenticate (3-D Secure on every payment)
# waits for them on the card step: the page runs their bank's challenge with Stripe.js, and the
# ``hold_authenticated`` Update takes the hold up once the processor says it holds the premium. Before, the
# hold was released and the contractor asked for another card.
HOLD_AUTHENTICATION = "hold-authenticated-on-session"
HOLD_GONE = "The pre-authorization on your card has ended. Please enter your card again to complete."
RENEW_BEFORE = timedelta(days=1)
R = TypeVar("R")


@workflow.defn(name=APPLICATION_WORKFLOW)
class ApplicationWorkflow:
    @workflow.init
    def __init__(self, app: ApplicationInput) -> None:
        # Set here, not in run(): an Update can arrive in the very first workflow task, before run() starts.
        self.app = app
        self.session = SessionState(hold=HeldPremium(placed_at=workflow.now()))
        self.lock = asyncio.Lock()

    # The process ------------------------------------------------------------------------------------------

    @workflow.run
    async def run(self, app: ApplicationInput) -> ApplicationState:
        deadline = workflow.now() + timedelta(seconds=app.lifetime_seconds)
        if workflow.patched(RENEWAL_ON_ITS_OWN):
            await self._until_it_ends(deadline)
        else:
            await self._until_it_ends_with_one_timer(deadline)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state()

    async def _until_it_ends(self, deadline: datetime) -> None:
        """Wait for the hosted pages' ``complete`` (or ``expire``) until the lifetime ends, then end it that
        way; the card hold is kept fresh meanwhile by its own coroutine."""
        s = self.session
        renewals = asyncio.create_task(self._keep_the_hold_fresh(deadline))
        while not s.ended:
            try:
                await workflow.wait_condition(
                    lambda: s.finish_requested or s.expire_requested or s.ended or renewals.done(),
                    timeout=max(deadline - workflow.now(), timedelta(seconds=1)),
                    timeout_summary="application lifetime",
                )
            except TimeoutError:
                s.expire_requested = True
            if renewals.done():
                renewals.result()  # it never returns: a renewal's error fails the workflow task, as it did
            if s.ended:  # ineligible: its update handler already recorded it
                break
            async with self.lock:  # not while a step or a renewal places or releases a hold
                if s.expire_requested:
                    await self._expire("The application was not completed in time.")
                elif s.finish_requested:
                    await self._complete()
        renewals.cancel()

    async def _keep_the_hold_fresh(self, deadline: datetime) -> None:
        """A card hold lapses after about a week: renew each one a day before it would, while it is needed."""
        hold, valid = self.session.hold, timedelta(seconds=self.app.authorization_valid_seconds)
        while True:
            await workflow.wait_condition(lambda: hold.payment_intent is not None and not hold.renewal_failed)
            revision, renew_at = hold.revision, hold.placed_at + valid - RENEW_BEFORE

            def replaced(revision: int = revision) -> bool:  # a new hold (a new card, or renewed)
                return hold.revision != revision

            if renew_at >= deadline:  # the application ends before the hold would lapse
                await workflow.wait_condition(replaced)
                continue
            try:
                await workflow.wait_condition(
                    replaced,
                    timeout=max(renew_at - workflow.now(), timedelta(seconds=1)),
                    timeout_summary="renew card hold",
                )
            except TimeoutError:
                async with self.lock:
                    await self._renew_hold()

    async def _until_it_ends_with_one_timer(self, deadline: datetime) -> None:
        """Runs started before ``RENEWAL_ON_ITS_OWN``: one loop, one timer at a time (the lifetime's, or the
        hold's renewal when that comes first). Delete when that patch is retired (workflows/PATCHES.md)."""
        app, s, hold = self.app, self.session, self.session.hold
        while not s.ended:
            wake_at, revision = deadline, hold.revision
            renew_at = hold.placed_at + timedelta(seconds=app.authorization_valid_seconds) - RENEW_BEFORE
            if hold.payment_intent and renew_at < deadline and not hold.renewal_failed:
                wake_at = renew_at

            def woken(revision: int = revision) -> bool:
                return (
                    s.finish_requested
                    or s.expire_requested
                    or s.ended
                    or hold.revision != revision  # a new card hold: plan its renewal
                )

            try:
                await workflow.wait_condition(
                    woken,
                    timeout=max(wake_at - workflow.now(), timedelta(seconds=1)),
                    timeout_summary="application lifetime" if wake_at == deadline else "renew card hold",
                )
            except TimeoutError:
                if workflow.now() >= deadline:
                    s.expire_requested = True
                else:
                    async with self.lock:
                        await self._renew_hold()
                continue
            if hold.revision != revision and not (s.finish_requested or s.expire_requested):
                continue
            if s.ended:  # ineligible: its update handler already recorded it
                break
            if s.expire_requested:
                await self._expire("The application was not completed in time.")
            elif s.finish_requested:
                await self._complete()

    # Completing ------------------------------------------------------------------------------------------

    async def _complete(self) -> None:
        """Capture the held premium, bind the policy (and bill a withheld premium), then record the
        completion and tell everyone. A hold Stripe will not capture sends the contractor back to the card."""
        app, hold = self.app, self.session.hold
        await self._let_go_of_the_waiting_hold()  # a card the contractor did not confirm: not this one
        charges_card = not app.withhold_premium and hold.payment_intent is not None
        if charges_card and not await self._capture():
            await self._ask_for_the_card_again()
            return
        bill_id = None
        if not app.is_general_opt_in:
            self.session.policy_id = await self._call(
                ApplicationActivities.bind_policy, app.session_id, summary="bind the policy"
            )
            if app.withhold_premium:
                bill_id = await self._bill_the_organization(self.session.policy_id)
        await self._record_completion(bill_id)
        if charges_card:
            await self._call(ApplicationActivities.send_payment_confirmation, app.session_id)

    async def _capture(self) -> bool:
        """Capture the hold; False when Stripe refuses to (the hold was released or lapsed)."""
        hold = self.session.hold
        assert hold.payment_intent is not None
        try:
            await self._call(
                ApplicationActivities.capture_payment,
                Capture(
                    session_id=self.app.session_id,
                    payment_intent_id=hold.payment_intent,
                    idempotency_key=f"{workflow.info().workflow_id}:capture:r{hold.attempts}",
                ),
                summary="capture the premium",
                options=STRIPE,
            )
        except ActivityError as error:
            refused = isinstance(error.cause, ApplicationError) and error.cause.type == "CaptureRefused"
            if not refused or not workflow.patched(CAPTURE_REFUSED_ASKS_FOR_CARD):
                raise
            return False
        return True

    async def _bill_the_organization(self, policy_id: str) -> str:
        app = self.app
        bill = await self._call(
            DocumentActivities.issue_bill,
            BillRequest(
                bill_id=f"bl_{app.session_id.removeprefix('ias_')}",
                organization_id=app.organization_id,
                environment=app.environment,
                contractor_id=app.contractor_id,
                policy_id=policy_id,
                lines=[BillLine(description=f"Insurance premium, policy {policy_id}", amount=app.premium)],
            ),
            summary="bill the organization",
        )
        return bill.bill_id

    async def _record_completion(self, bill_id: str | None) -> None:
        """Store the completion, hand the money to the assignment's workflow, then announce it."""
        app = self.app
        snapshots = await self._call(
            ApplicationActivities.complete_application,
            Completion(session_id=app.session_id, policy_id=self.session.policy_id, bill_id=bill_id),
        )
        if not app.is_general_opt_in and workflow.patched(ENGAGEMENT_HANDED_OVER):
            await self._call(
                ApplicationActivities.hand_over_engagement,
                app.session_id,
                summary="hand the premium to the assignment's workflow",
            )
        self._set(Step.APPLICATION_COMPLETE, Status.APPLICATION_COMPLETE)
        await self._publish("application.complete", snapshots.session)
        if snapshots.policy is not None:
            await self._publish("policy.active", snapshots.policy)
        if snapshots.assignment is not None and workflow.patched("activate-waiting-assignment"):
            await self._publish("assignment.active", snapshots.assignment)

    async def _ask_for_the_card_again(self) -> None:
        """The hold cannot be captured (Stripe says it is gone): back to the card step, nothing bound."""
        s = self.session
        s.hold.payment_intent, s.hold.card_summary, s.finish_requested = None, None, False
        self._set(Step.ADD_CARD_DETAILS, Status.IN_PROGRESS)
        await self._record_progress()
        s.hold.captures_refused += 1

    # Ending ----------------------------------------------------------------------------------------------

    async def _expire(self, reason: str) -> None:
        await self._let_go_of_the_waiting_hold()
        if self.session.hold.payment_intent:
            hold = self.session.hold
            await self._call(ApplicationActivities.release_hold, hold.payment_intent, options=STRIPE)
            hold.payment_intent = None
        await self._end(Status.EXPIRED, reason, "application.expired")

    async def _end(self, status: Status, reason: str, event_type: str) -> None:
        """Record the ending first: whoever waits for it (the expire Update, the API) then finds it stored."""
        app = self.app
        await self._call(
            ApplicationActivities.record_progress,
            Progress(session_id=app.session_id, step=self.session.step, status=status, ended_reason=reason),
        )
        await self._publish(
            event_type,
            {
                "id": app.session_id,
                "object": "insurance_application_session",
                "status": status.value,
                "step": self.session.step.value,
                "reason": reason,
            },
        )
        self._ended(status, reason)

    def _ended(self, status: Status, reason: str | None) -> None:
        """Where an application that did not complete ends (expired, ineligible), once its ending is stored.
        (A completed one ends in ``_record_completion``, at its last step.)"""
        self.session.status, self.session.ended_reason = status, reason

    # The card hold ---------------------------------------------------------------------------------------

    async def _renew_hold(self) -> None:
        """A card hold lapses after about a week: place a fresh one before it does, then release the old."""
        app, old = self.app, self.session.hold.payment_intent
        if old is None or self.session.ended:
            return
        payment_method = await self._call(ApplicationActivities.payment_method_of_session, app.session_id)
        try:
            await self._place_hold(payment_method, STRIPE)
        except ActivityError:
            if not workflow.patched(RENEWAL_FAILURE_KEEPS_HOLD):
                raise
            self.session.hold.renewal_failed = True
            return
        await self._call(ApplicationActivities.release_hold, old, options=STRIPE)

    async def _place_hold(
        self, payment_method_id: str, options: ActivityOptions, contractor_here: bool = False
    ) -> None:
        """Hold the premium on the card. ``contractor_here`` (the card step, since HOLD_AUTHENTICATION): a
        hold their bank asks them to authenticate waits for them (the activity refuses with
        HOLD_WAITS_FOR_THE_BANK and the waiting intent) instead of being released."""
        app, hold = self.app, self.session.hold
        hold.attempts += 1  # each attempt its own idempotency key: a new card is a different request
        placed = await self._call(
            ApplicationActivities.authorize_card,
            CardAuthorization(
                session_id=app.session_id,
                payment_method_id=payment_method_id,
                amount=app.premium,
                idempotency_key=f"{workflow.info().workflow_id}:preauth:r{hold.attempts}",
                wait_for_authentication=contractor_here and workflow.patched(HOLD_AUTHENTICATION),
            ),
            summary="hold the premium on the card",
            options=options,
        )
        self._held(placed)

    async def _let_go_of_the_waiting_hold(self) -> None:
        """A hold that waited for the contractor's bank (never one before HOLD_AUTHENTICATION) is released:
        another card, completion or expiry came first."""
        hold = self.session.hold
        if hold.to_authenticate:
            await self._call(ApplicationActivities.release_hold, hold.to_authenticate, options=STRIPE)
            hold.to_authenticate = hold.to_authenticate_card = None

    def _held(self, placed: CardHold) -> None:
        hold = self.session.hold
        hold.renewal_failed = False
        hold.payment_intent, hold.card_summary, hold.placed_at = (
            placed.payment_intent_id,
            placed.card_summary,
            workflow.now(),
        )
        hold.revision += 1

    # Small helpers ---------------------------------------------------------------------------------------

    async def _call(
        self,
        activity: Callable[[Any, Any], R],
        arg: object,
        *,
        summary: str | None = None,
        options: ActivityOptions = QUICK,
    ) -> R:
        """Run one activity (the short steps with ``QUICK``, Stripe's with their own retries and windows)."""
        return await workflow.execute_activity_method(activity, arg, summary=summary, **options)

    async def _record_progress(self) -> None:
        s = self.session
        await self._call(
            ApplicationActivities.record_progress,
            Progress(session_id=self.app.session_id, step=s.step, status=s.status),
        )

    async def _publish(self, event_type: str, data: dict[str, object]) -> None:
        await publish(self.app.organization_id, self.app.environment, event_type, data)

    def _set(self, step: Step, status: Status | None = None) -> None:
        self.session.step = step
        if status is not None:
            self.session.status = status
        if workflow.info().typed_search_attributes.get(SESSION_ID) is not None:
            workflow.upsert_search_attributes([STEP.value_set(step.value)])
        workflow.set_current_details(f"Step: **{step.value}** · status {self.session.status.value}")

    async def _advance(self, done: Step) -> StepResult:
        if self.session.step == done:
            self._set(next_step(done, self.app.withhold_premium), Status.IN_PROGRESS)
            await self._record_progress()
        return self.result()

    async def _take_step(
        self, done: Step, save: Callable[[Any, Any], None], entered: Callable[[], object]
    ) -> StepResult:
        """A hosted page's step: store what the contractor entered, then move on (once) from ``done``."""
        async with self.lock:
            await self._call(save, entered())
            return await self._advance(done)

    # What the hosted pages call ---------------------------------------------------------------------------

    def _require(self, step: Step) -> None:
        s = self.session
        if s.ended:
            raise ApplicationError(f"This application is {s.status.value.lower().replace('_', ' ')}.")
        if s.status is Status.MANUAL_REVIEW:
            raise ApplicationError(UNDER_REVIEW, type="under_review")
        if not reached(s.step, step):
            raise ApplicationError(f"The application is at {s.step.value}, not yet at {step.value}.")

    @workflow.update(name=VERIFY_INFO.name)
    async def verify_info(self, details: ContractorDetails) -> StepResult:
        result = await self._take_step(
            Step.VERIFY_INFO,
            ApplicationActivities.save_details,
            lambda: SavedDetails(session_id=self.app.session_id, details=details),
        )
        self.session.signer = details
        return result

    @verify_info.validator
    def _check_verify_info(self, details: ContractorDetails) -> None:
        self._require(Step.VERIFY_INFO)
        if details.region not in US_STATES:
            raise ApplicationError(NO_US_STATE, type="invalid_state")

    @workflow.update(name=ANSWER_QUESTIONS.name)
    async def answer_questions(self, answers: Answers) -> StepResult:
        async with self.lock:
            saved = SavedAnswers(session_id=self.app.session_id, answers=answers)
            await self._call(ApplicationActivities.save_answers, saved)
            facts = (answers.hires_workers, answers.claims_last_three_years, answers.licensed_if_required)
            verdict = assess(*facts)
            if verdict.outcome is Outcome.MANUAL_REVIEW and not workflow.patched(CLAIMS_GO_TO_REVIEW):
                verdict = Assessment(Outcome.INELIGIBLE, ineligibility(*facts))  # started before the patch
            if verdict.outcome is Outcome.MANUAL_REVIEW:
                await self._record_review(Status.MANUAL_REVIEW, "application.manual_review", verdict.reason)
                return self.result()
            if verdict.outcome is Outcome.INELIGIBLE:
                await self._end(Status.INELIGIBLE, verdict.reason or "", "application.ineligible")
                return self.result()
            return await self._advance(Step.APPLICATION_QUESTIONS)

    @answer_questions.validator
    def _check_answers(self, answers: Answers) -> None:
        self._require(Step.APPLICATION_QUESTIONS)

    async def _record_review(
        self,
        status: Status,
        event_type: str,
        reason: str | None,
        email: ReviewEmail | None = None,
        step: Step | None = None,
    ) -> None:
        """Store a step of the manual review (status, event, email), then take it on: whoever reads the
        session after the Update finds it stored."""
        step = step or self.session.step
        await self._call(
            ApplicationReviewActivities.record_review,
            ReviewRecord(
                session_id=self.app.session_id,
                step=step,
                status=status,
                event_type=event_type,
                event_id=f"ev_{workflow.uuid4().hex[:20]}",
                reason=reason,
                email=email,
            ),
            summary=event_type,
        )
        if status is Status.INELIGIBLE:
            self._ended(status, reason)
        else:
            self._set(step, status)

    @workflow.update(name=REVIEW.name)
    async def review(self, decision: ReviewDecision) -> StepResult:
        """An underwriter's decision: approved, the application continues at the next step (the contractor is
        emailed the link); declined, it ends as ineligible with the reason (and an email saying so)."""
        async with self.lock:
            if self.session.status is not Status.MANUAL_REVIEW:  # it ended (expired) while it waited
                raise ApplicationError(self._not_under_review(), type="not_under_review")
            if decision.approve:
                await self._record_review(
                    Status.IN_PROGRESS,
                    "application.manual_review_approved",
                    decision.reason,
                    "approved",
                    next_step(Step.APPLICATION_QUESTIONS, self.app.withhold_premium),
                )
            else:
                reason = decision.reason or DECLINED_AFTER_REVIEW
                await self._record_review(Status.INELIGIBLE, "application.ineligible", reason, "declined")
            return self.result()

    @review.validator
    def _check_review(self, decision: ReviewDecision) -> None:
        if self.session.status is not Status.MANUAL_REVIEW:
            raise ApplicationError(self._not_under_review(), type="not_under_review")

    def _not_under_review(self) -> str:
        status = self.session.status.value.lower().replace("_", " ")
        return f"Application {self.app.session_id} is not under review: it is {status}."

    @workflow.update(name=SIGN.name)
    async def sign(self, signature: SignatureInput) -> StepResult:
        return await self._take_step(
            Step.ESIGNATURE_DOCUMENT,
            ApplicationActivities.save_signature,
            lambda: SavedSignature(  # signed when the step is taken (after an Update ahead of it)
                session_id=self.app.session_id,
                typed_name=signature.typed_name,
                ip_address=signature.ip_address,
                signed_at=int(workflow.now().timestamp()),
            ),
        )

    @sign.validator
    def _check_signature(self, signature: SignatureInput) -> None:
        self._require(Step.ESIGNATURE_DOCUMENT)
        if not signature.consent:
            raise ApplicationError("Please tick the box to agree to the terms before signing.")
        if self.session.signer is not None:
            signer = self.session.signer
            refusal = signature_refusal(signature.typed_name, signer.first_name, signer.last_name)
            if refusal is not None:
                raise ApplicationError(refusal, type="signature_mismatch")

    @workflow.update(name=ADD_CARD.name)
    async def add_card(self, card: CardInput) -> StepResult:
        async with self.lock:
            self._require(Step.ADD_CARD_DETAILS)  # again: the application may have ended while we waited
            hold = self.session.hold
            previous = hold.payment_intent
            await self._let_go_of_the_waiting_hold()  # another card instead of confirming that one
            try:
                await self._place_hold(
                    card.payment_method_id, HOLD_WHILE_THE_PAGE_WAITS, contractor_here=True
                )
            except ActivityError as error:  # the step stays open: the contractor tries again, or another card
                refused = error.cause if isinstance(error.cause, ApplicationError) else None
                if refused is not None and refused.type == HOLD_WAITS_FOR_THE_BANK and refused.details:
                    hold.to_authenticate = str(refused.details[0])  # the page runs the bank's challenge
                    hold.to_authenticate_card = card.payment_method_id
                    raise ApplicationError(refused.message, type="authentication_required") from None
                raise self._card_refusal(error) from None
            if previous:
                await self._call(ApplicationActivities.release_hold, previous, options=STRIPE)
            return await self._advance(Step.ADD_CARD_DETAILS)

    @workflow.update(name=HOLD_AUTHENTICATED.name)
    async def hold_authenticated(self, payment_intent_id: str) -> StepResult:
        """The contractor completed their bank's challenge for the waiting hold: taken up if the processor
        says it holds the premium now; otherwise the step stays open with the bank's answer."""
        async with self.lock:
            self._require(Step.ADD_CARD_DETAILS)
            hold = self.session.hold
            if hold.to_authenticate != payment_intent_id:
                raise ApplicationError(NOTHING_TO_CONFIRM, type="nothing_to_authenticate")
            previous = hold.payment_intent
            try:
                placed = await self._call(
                    ApplicationActivities.take_authenticated_hold,
                    HoldConfirmation(
                        session_id=self.app.session_id,
                        payment_intent_id=payment_intent_id,
                        payment_method_id=hold.to_authenticate_card or "",
                        amount=self.app.premium,
                    ),
                    summary="take up the hold the contractor confirmed",
                    options=HOLD_WHILE_THE_PAGE_WAITS,
                )
            except ActivityError as error:
                raise self._card_refusal(error) from None
            self._held(placed)
            hold.to_authenticate = hold.to_authenticate_card = None
            if previous:
                await self._call(ApplicationActivities.release_hold, previous, options=STRIPE)
            return await self._advance(Step.ADD_CARD_DETAILS)

    @hold_authenticated.validator
    def _check_hold_authenticated(self, payment_intent_id: str) -> None:
        self._require(Step.ADD_CARD_DETAILS)
        if not payment_intent_id or self.session.hold.to_authenticate != payment_intent_id:
            raise ApplicationError(NOTHING_TO_CONFIRM, type="nothing_to_authenticate")

    @staticmethod
    def _card_refusal(error: ActivityError) -> ApplicationError:
        """The card step's answer to a hold that failed: the processor's refusal, or that it is unreachable
        (the step stays open either way: the contractor tries again, or another card)."""
        refused = error.cause if isinstance(error.cause, ApplicationError) else None
        if refused is not None and refused.type in CARD_REFUSALS:
            return ApplicationError(refused.message, type="CardDeclined")
        return ApplicationError(PROCESSOR_UNAVAILABLE, type="card_processor_unavailable")

    @add_card.validator
    def _check_card(self, card: CardInput) -> None:
        if self.app.withhold_premium:
            raise ApplicationError("Your organization pays this premium: no card is needed.")
        self._require(Step.ADD_CARD_DETAILS)

    @workflow.update(name=COMPLETE.name)
    async def complete(self) -> StepResult:
        s = self.session
        s.finish_requested = True
        refused = s.hold.captures_refused
        await workflow.wait_condition(lambda: s.ended or s.hold.captures_refused != refused)
        if not s.ended:  # the hold could not be captured: the card step is open again
            raise ApplicationError(HOLD_GONE, type="CardDeclined")
        return self.result()

    @complete.validator
    def _check_complete(self) -> None:
        if self.session.status is Status.APPLICATION_COMPLETE:
            return  # a second click, or a reload: answer with the result again
        self._require(Step.FINAL_REVIEW)

    @workflow.update(name=EXPIRE.name)
    async def expire(self) -> StepResult:
        self.session.expire_requested = True
        await workflow.wait_condition(lambda: self.session.ended)
        return self.result()

    @expire.validator
    def _check_expire(self) -> None:
        if self.session.status is Status.APPLICATION_COMPLETE:
            raise ApplicationError(
                "The application is already complete.", type="application_already_complete"
            )
        if self.session.status is Status.EXPIRED:
            raise ApplicationError("The session has already expired.", type="session_expired")

    @workflow.query(name=APPLICATION_STATE.name)
    def state(self) -> ApplicationState:
        app, s = self.app, self.session
        expires = int(workflow.info().start_time.timestamp()) + app.lifetime_seconds
        return ApplicationState(
            session_id=app.session_id,
            step=s.step,
            status=s.status,
            card_summary=s.hold.card_summary,
            premium=app.premium,
            withhold_premium=app.withhold_premium,
            policy_id=s.policy_id,
            expires_at=expires,
            ended_reason=s.ended_reason,
            hold_to_authenticate=s.hold.to_authenticate,
        )

    def result(self) -> StepResult:
        app, s = self.app, self.session
        redirect = None
        if s.status is Status.APPLICATION_COMPLETE:
            redirect = app.success_url
        elif s.ended:
            redirect = app.cancel_url
        message = UNDER_REVIEW if s.status is Status.MANUAL_REVIEW else s.ended_reason
        return StepResult(step=s.step, status=s.status, redirect_url=redirect, message=message)
