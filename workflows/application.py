"""ApplicationWorkflow: one contractor's insurance application, from the first page to bound coverage.

The hosted pages drive it with Updates, one per step, each checked by a validator first (a rejected
Update leaves no trace in the history). Entering a card holds the premium; completing captures it, binds
the policy, issues certificates, tells the platform (events) and the contractor (email). Answers that need
an underwriter wait for their decision (the ``review`` Update). An application that is not finished in time
expires.
"""

import asyncio
from datetime import timedelta

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
        REVIEW,
        SIGN,
        VERIFY_INFO,
        Answers,
        ApplicationInput,
        ApplicationState,
        Capture,
        CardAuthorization,
        CardInput,
        Completion,
        ContractorDetails,
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
        ENDED,
        NO_US_STATE,
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
HOLD_GONE = "The pre-authorization on your card has ended. Please enter your card again to complete."
RENEW_BEFORE = timedelta(days=1)


@workflow.defn(name=APPLICATION_WORKFLOW)
class ApplicationWorkflow:
    @workflow.init
    def __init__(self, app: ApplicationInput) -> None:
        # Set here, not in run(): an Update can arrive in the very first workflow task, before run() starts.
        self.app = app
        self.step = Step.VERIFY_INFO
        self.status = Status.CREATED
        self.ended_reason: str | None = None
        self.card_summary: str | None = None
        self.hold: str | None = None
        self.hold_placed_at = workflow.now()  # replaced whenever a hold is placed
        self.hold_revision = 0  # bumped whenever a hold is placed
        self.hold_attempts = 0
        self.captures_refused = 0  # bumped when Stripe refuses to capture the hold
        self.renewal_failed = False  # the current hold could not be renewed: no further tries
        self.policy_id: str | None = None
        self.finish_requested = False
        self.expire_requested = False
        self.lock = asyncio.Lock()
        self.signer: ContractorDetails | None = None  # whose name the signature must be (the saved details)

    # The process ------------------------------------------------------------------------------------------

    @workflow.run
    async def run(self, app: ApplicationInput) -> ApplicationState:
        deadline = workflow.now() + timedelta(seconds=app.lifetime_seconds)
        while self.status not in ENDED:
            wake_at, revision = deadline, self.hold_revision
            renew_at = self.hold_placed_at + timedelta(seconds=app.authorization_valid_seconds) - RENEW_BEFORE
            if self.hold and renew_at < deadline and not self.renewal_failed:
                wake_at = renew_at

            def woken(revision: int = revision) -> bool:
                return (
                    self.finish_requested
                    or self.expire_requested
                    or self.status in ENDED
                    or self.hold_revision != revision  # a new card hold: plan its renewal
                )

            try:
                await workflow.wait_condition(
                    woken,
                    timeout=max(wake_at - workflow.now(), timedelta(seconds=1)),
                    timeout_summary="application lifetime" if wake_at == deadline else "renew card hold",
                )
            except TimeoutError:
                if workflow.now() >= deadline:
                    self.expire_requested = True
                else:
                    async with self.lock:
                        await self._renew_hold()
                continue
            if self.hold_revision != revision and not (self.finish_requested or self.expire_requested):
                continue
            if self.status in ENDED:  # ineligible: its update handler already recorded it
                break
            if self.expire_requested:
                await self._expire("The application was not completed in time.")
            elif self.finish_requested:
                await self._complete()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state()

    async def _complete(self) -> None:
        app = self.app
        bill_id = None
        if not app.withhold_premium and self.hold:
            try:
                await workflow.execute_activity_method(
                    ApplicationActivities.capture_payment,
                    Capture(
                        session_id=app.session_id,
                        payment_intent_id=self.hold,
                        idempotency_key=f"{workflow.info().workflow_id}:capture:r{self.hold_attempts}",
                    ),
                    summary="capture the premium",
                    **STRIPE,
                )
            except ActivityError as error:
                refused = isinstance(error.cause, ApplicationError) and error.cause.type == "CaptureRefused"
                if not refused or not workflow.patched(CAPTURE_REFUSED_ASKS_FOR_CARD):
                    raise
                await self._ask_for_the_card_again()
                return
        if not app.is_general_opt_in:
            self.policy_id = await workflow.execute_activity_method(
                ApplicationActivities.bind_policy, app.session_id, summary="bind the policy", **QUICK
            )
            if app.withhold_premium:
                bill = await workflow.execute_activity_method(
                    DocumentActivities.issue_bill,
                    BillRequest(
                        bill_id=f"bl_{app.session_id.removeprefix('ias_')}",
                        organization_id=app.organization_id,
                        environment=app.environment,
                        contractor_id=app.contractor_id,
                        policy_id=self.policy_id,
                        lines=[
                            BillLine(
                                description=f"Insurance premium, policy {self.policy_id}", amount=app.premium
                            )
                        ],
                    ),
                    summary="bill the organization",
                    **QUICK,
                )
                bill_id = bill.bill_id
        snapshots = await workflow.execute_activity_method(
            ApplicationActivities.complete_application,
            Completion(session_id=app.session_id, policy_id=self.policy_id, bill_id=bill_id),
            **QUICK,
        )
        if not app.is_general_opt_in and workflow.patched(ENGAGEMENT_HANDED_OVER):
            await workflow.execute_activity_method(
                ApplicationActivities.hand_over_engagement,
                app.session_id,
                summary="hand the premium to the assignment's workflow",
                **QUICK,
            )
        self._set(Step.APPLICATION_COMPLETE, Status.APPLICATION_COMPLETE)
        await self._publish("application.complete", snapshots.session)
        if snapshots.policy is not None:
            await self._publish("policy.active", snapshots.policy)
        if snapshots.assignment is not None and workflow.patched("activate-waiting-assignment"):
            await self._publish("assignment.active", snapshots.assignment)
        if not app.withhold_premium and self.hold:
            await workflow.execute_activity_method(
                ApplicationActivities.send_payment_confirmation, app.session_id, **QUICK
            )

    async def _ask_for_the_card_again(self) -> None:
        """The hold cannot be captured (Stripe says it is gone): back to the card step, nothing bound."""
        self.hold, self.card_summary, self.finish_requested = None, None, False
        self._set(Step.ADD_CARD_DETAILS, Status.IN_PROGRESS)
        await workflow.execute_activity_method(
            ApplicationActivities.record_progress,
            Progress(session_id=self.app.session_id, step=self.step, status=self.status),
            **QUICK,
        )
        self.captures_refused += 1

    async def _expire(self, reason: str) -> None:
        if self.hold:
            await workflow.execute_activity_method(ApplicationActivities.release_hold, self.hold, **STRIPE)
            self.hold = None
        await self._end(Status.EXPIRED, reason, "application.expired")

    async def _end(self, status: Status, reason: str, event_type: str) -> None:
        """Record the ending first: whoever waits for it (the expire Update, the API) then finds it stored."""
        app = self.app
        await workflow.execute_activity_method(
            ApplicationActivities.record_progress,
            Progress(session_id=app.session_id, step=self.step, status=status, ended_reason=reason),
            **QUICK,
        )
        await self._publish(
            event_type,
            {
                "id": app.session_id,
                "object": "insurance_application_session",
                "status": status.value,
                "step": self.step.value,
                "reason": reason,
            },
        )
        self.status, self.ended_reason = status, reason

    async def _renew_hold(self) -> None:
        """A card hold lapses after about a week: place a fresh one before it does, then release the old."""
        app, old = self.app, self.hold
        if old is None or self.status in ENDED:
            return
        payment_method = await workflow.execute_activity_method(
            ApplicationActivities.payment_method_of_session, app.session_id, **QUICK
        )
        try:
            await self._place_hold(payment_method, STRIPE)
        except ActivityError:
            if not workflow.patched(RENEWAL_FAILURE_KEEPS_HOLD):
                raise
            self.renewal_failed = True
            return
        await workflow.execute_activity_method(ApplicationActivities.release_hold, old, **STRIPE)

    async def _place_hold(self, payment_method_id: str, options: ActivityOptions) -> None:
        app = self.app
        self.hold_attempts += 1  # each attempt its own idempotency key: a new card is a different request
        hold = await workflow.execute_activity_method(
            ApplicationActivities.authorize_card,
            CardAuthorization(
                session_id=app.session_id,
                payment_method_id=payment_method_id,
                amount=app.premium,
                idempotency_key=f"{workflow.info().workflow_id}:preauth:r{self.hold_attempts}",
            ),
            summary="hold the premium on the card",
            **options,
        )
        self.renewal_failed = False
        self.hold, self.card_summary, self.hold_placed_at = (
            hold.payment_intent_id,
            hold.card_summary,
            workflow.now(),
        )
        self.hold_revision += 1

    async def _publish(self, event_type: str, data: dict[str, object]) -> None:
        await publish(self.app.organization_id, self.app.environment, event_type, data)

    def _set(self, step: Step, status: Status | None = None) -> None:
        self.step = step
        if status is not None:
            self.status = status
        if workflow.info().typed_search_attributes.get(SESSION_ID) is not None:
            workflow.upsert_search_attributes([STEP.value_set(step.value)])
        workflow.set_current_details(f"Step: **{step.value}** · status {self.status.value}")

    async def _advance(self, done: Step) -> StepResult:
        app = self.app
        if self.step == done:
            self._set(next_step(done, app.withhold_premium), Status.IN_PROGRESS)
            await workflow.execute_activity_method(
                ApplicationActivities.record_progress,
                Progress(session_id=app.session_id, step=self.step, status=self.status),
                **QUICK,
            )
        return self.result()

    # What the hosted pages call ---------------------------------------------------------------------------

    def _require(self, step: Step) -> None:
        if self.status in ENDED:
            raise ApplicationError(f"This application is {self.status.value.lower().replace('_', ' ')}.")
        if self.status is Status.MANUAL_REVIEW:
            raise ApplicationError(UNDER_REVIEW, type="under_review")
        if not reached(self.step, step):
            raise ApplicationError(f"The application is at {self.step.value}, not yet at {step.value}.")

    @workflow.update(name=VERIFY_INFO.name)
    async def verify_info(self, details: ContractorDetails) -> StepResult:
        async with self.lock:
            await workflow.execute_activity_method(
                ApplicationActivities.save_details,
                SavedDetails(session_id=self.app.session_id, details=details),
                **QUICK,
            )
            self.signer = details
            return await self._advance(Step.VERIFY_INFO)

    @verify_info.validator
    def _check_verify_info(self, details: ContractorDetails) -> None:
        self._require(Step.VERIFY_INFO)
        if details.region not in US_STATES:
            raise ApplicationError(NO_US_STATE, type="invalid_state")

    @workflow.update(name=ANSWER_QUESTIONS.name)
    async def answer_questions(self, answers: Answers) -> StepResult:
        async with self.lock:
            app = self.app
            await workflow.execute_activity_method(
                ApplicationActivities.save_answers,
                SavedAnswers(session_id=app.session_id, answers=answers),
                **QUICK,
            )
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
        app = self.app
        step = step or self.step
        await workflow.execute_activity_method(
            ApplicationReviewActivities.record_review,
            ReviewRecord(
                session_id=app.session_id,
                step=step,
                status=status,
                event_type=event_type,
                event_id=f"ev_{workflow.uuid4().hex[:20]}",
                reason=reason,
                email=email,
            ),
            summary=event_type,
            **QUICK,
        )
        if status is Status.INELIGIBLE:
            self.status, self.ended_reason = status, reason
        else:
            self._set(step, status)

    @workflow.update(name=REVIEW.name)
    async def review(self, decision: ReviewDecision) -> StepResult:
        """An underwriter's decision: approved, the application continues at the next step (the contractor is
        emailed the link); declined, it ends as ineligible with the reason (and an email saying so)."""
        async with self.lock:
            if self.status is not Status.MANUAL_REVIEW:  # it ended (expired) while the decision waited
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
        if self.status is not Status.MANUAL_REVIEW:
            raise ApplicationError(self._not_under_review(), type="not_under_review")

    def _not_under_review(self) -> str:
        status = self.status.value.lower().replace("_", " ")
        return f"Application {self.app.session_id} is not under review: it is {status}."

    @workflow.update(name=SIGN.name)
    async def sign(self, signature: SignatureInput) -> StepResult:
        async with self.lock:
            await workflow.execute_activity_method(
                ApplicationActivities.save_signature,
                SavedSignature(
                    session_id=self.app.session_id,
                    typed_name=signature.typed_name,
                    ip_address=signature.ip_address,
                    signed_at=int(workflow.now().timestamp()),
                ),
                **QUICK,
            )
            return await self._advance(Step.ESIGNATURE_DOCUMENT)

    @sign.validator
    def _check_signature(self, signature: SignatureInput) -> None:
        self._require(Step.ESIGNATURE_DOCUMENT)
        if not signature.consent:
            raise ApplicationError("Please tick the box to agree to the terms before signing.")
        if self.signer is not None:
            signer = self.signer
            refusal = signature_refusal(signature.typed_name, signer.first_name, signer.last_name)
            if refusal is not None:
                raise ApplicationError(refusal, type="signature_mismatch")

    @workflow.update(name=ADD_CARD.name)
    async def add_card(self, card: CardInput) -> StepResult:
        async with self.lock:
            self._require(Step.ADD_CARD_DETAILS)  # again: the application may have ended while we waited
            previous = self.hold
            try:
                await self._place_hold(card.payment_method_id, HOLD_WHILE_THE_PAGE_WAITS)
            except ActivityError as error:  # the step stays open: the contractor tries again, or another card
                refused = error.cause if isinstance(error.cause, ApplicationError) else None
                if refused is not None and refused.type in CARD_REFUSALS:
                    raise ApplicationError(refused.message, type="CardDeclined") from None
                raise ApplicationError(PROCESSOR_UNAVAILABLE, type="card_processor_unavailable") from None
            if previous:
                await workflow.execute_activity_method(ApplicationActivities.release_hold, previous, **STRIPE)
            return await self._advance(Step.ADD_CARD_DETAILS)

    @add_card.validator
    def _check_card(self, card: CardInput) -> None:
        if self.app.withhold_premium:
            raise ApplicationError("Your organization pays this premium: no card is needed.")
        self._require(Step.ADD_CARD_DETAILS)

    @workflow.update(name=COMPLETE.name)
    async def complete(self) -> StepResult:
        self.finish_requested = True
        refused = self.captures_refused
        await workflow.wait_condition(lambda: self.status in ENDED or self.captures_refused != refused)
        if self.status not in ENDED:  # the hold could not be captured: the card step is open again
            raise ApplicationError(HOLD_GONE, type="CardDeclined")
        return self.result()

    @complete.validator
    def _check_complete(self) -> None:
        if self.status is Status.APPLICATION_COMPLETE:
            return  # a second click, or a reload: answer with the result again
        self._require(Step.FINAL_REVIEW)

    @workflow.update(name=EXPIRE.name)
    async def expire(self) -> StepResult:
        self.expire_requested = True
        await workflow.wait_condition(lambda: self.status in ENDED)
        return self.result()

    @expire.validator
    def _check_expire(self) -> None:
        if self.status is Status.APPLICATION_COMPLETE:
            raise ApplicationError(
                "The application is already complete.", type="application_already_complete"
            )
        if self.status is Status.EXPIRED:
            raise ApplicationError("The session has already expired.", type="session_expired")

    @workflow.query(name=APPLICATION_STATE.name)
    def state(self) -> ApplicationState:
        app = self.app
        expires = int(workflow.info().start_time.timestamp()) + app.lifetime_seconds
        return ApplicationState(
            session_id=app.session_id,
            step=self.step,
            status=self.status,
            card_summary=self.card_summary,
            premium=app.premium,
            withhold_premium=app.withhold_premium,
            policy_id=self.policy_id,
            expires_at=expires,
            ended_reason=self.ended_reason,
        )

    def result(self) -> StepResult:
        app = self.app
        redirect = None
        if self.status is Status.APPLICATION_COMPLETE:
            redirect = app.success_url
        elif self.status in ENDED:
            redirect = app.cancel_url
        message = UNDER_REVIEW if self.status is Status.MANUAL_REVIEW else self.ended_reason
        return StepResult(step=self.step, status=self.status, redirect_url=redirect, message=message)
