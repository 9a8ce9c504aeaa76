"""Stand-ins for every activity the AssignmentWorkflow and the ApplicationWorkflow call: registered under the
real activities' names (taken from the real definitions, so a renamed activity fails here first), they record
what the workflow asked for and answer as the test scripts them. No database, no Stripe, no SMTP."""

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar
from uuid import uuid4

from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.application_review import ApplicationReviewActivities
from activities.applications import ApplicationActivities
from activities.assignments import AssignmentActivities
from activities.documents import DocumentActivities
from activities.events import EventActivities, EventToRecord
from contracts.application import (
    Capture,
    CardAuthorization,
    CardHold,
    Completion,
    Progress,
    ReviewRecord,
    SavedAnswers,
    SavedDetails,
    SavedSignature,
    Snapshots,
)
from contracts.assignment import (
    AssignmentEmail,
    AssignmentProgress,
    ChargeOutcome,
    ChargeRequest,
    RefundRequest,
)
from contracts.delivery import BillRequest, IssuedBill
from workflows.application import ApplicationWorkflow
from workflows.assignment import AssignmentWorkflow
from workflows.registry import WORKFLOW_RUNNER

F = TypeVar("F", bound=Callable[..., Any])
DECLINED = "Your card has insufficient funds."


def fake_of(real: Callable[..., Any]) -> Callable[[F], F]:
    """Register the decorated fake under the name the worker registers ``real`` under."""
    name = activity._Definition.must_from_callable(real).name  # the real activity's registered name
    return activity.defn(name=name)


@dataclass
class Call:
    name: str
    arg: Any


@dataclass
class FakeActivities:
    """What the workflows asked for, in order; and the answers the test scripted."""

    calls: list[Call] = field(default_factory=list)
    declines: int = 0  # the next N charges are declined
    holds_declined: int = 0  # the next N card holds are declined
    holds_unavailable: int = 0  # the next N card holds fail as a processor outage would (after its window)
    capture_refused: bool = False
    numbers: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    task_queue: str = ""  # set by worker()

    def _record(self, name: str, arg: Any) -> None:
        self.calls.append(Call(name, arg))

    def of(self, name: str) -> list[Any]:
        return [c.arg for c in self.calls if c.name == name]

    def names(self) -> list[str]:
        return [c.name for c in self.calls]

    # Both workflows

    @fake_of(EventActivities.record_event)
    async def record_event(self, event: EventToRecord) -> str:
        self._record("record_event", event)
        return event.event_id

    @fake_of(DocumentActivities.issue_bill)
    async def issue_bill(self, request: BillRequest) -> IssuedBill:
        self._record("issue_bill", request)
        amount = sum(line.amount for line in request.lines)
        return IssuedBill(bill_id=request.bill_id, amount_due=amount, pdf_url="https://bills.example/1.pdf")

    # The assignment's

    @fake_of(AssignmentActivities.bind_assignment_coverage)
    async def bind_assignment_coverage(self, assignment_id: str) -> str:
        self._record("bind_assignment_coverage", assignment_id)
        return "pol_fake"

    @fake_of(AssignmentActivities.charge_card)
    async def charge_card(self, request: ChargeRequest) -> ChargeOutcome:
        self._record("charge_card", request)
        if self.declines:
            self.declines -= 1
            return ChargeOutcome(ok=False, message=DECLINED)
        return ChargeOutcome(ok=True, payment_intent_id=f"pi_{next(self.numbers)}")

    @fake_of(AssignmentActivities.refund_card)
    async def refund_card(self, request: RefundRequest) -> str:
        self._record("refund_card", request)
        return f"re_{next(self.numbers)}"

    @fake_of(AssignmentActivities.record_assignment_progress)
    async def record_assignment_progress(self, progress: AssignmentProgress) -> dict[str, Any]:
        self._record("record_assignment_progress", progress)
        return {"id": progress.assignment_id, "object": "assignment", "status": progress.status}

    @fake_of(AssignmentActivities.send_assignment_email)
    async def send_assignment_email(self, email: AssignmentEmail) -> None:
        self._record("send_assignment_email", email)

    # The application's

    @fake_of(ApplicationActivities.record_progress)
    async def record_progress(self, progress: Progress) -> None:
        self._record("record_progress", progress)

    @fake_of(ApplicationActivities.save_details)
    async def save_details(self, saved: SavedDetails) -> None:
        self._record("save_details", saved)

    @fake_of(ApplicationActivities.save_answers)
    async def save_answers(self, saved: SavedAnswers) -> None:
        self._record("save_answers", saved)

    @fake_of(ApplicationActivities.save_signature)
    async def save_signature(self, saved: SavedSignature) -> None:
        self._record("save_signature", saved)

    @fake_of(ApplicationActivities.authorize_card)
    async def authorize_card(self, request: CardAuthorization) -> CardHold:
        self._record("authorize_card", request)
        if self.holds_declined:
            self.holds_declined -= 1
            raise ApplicationError(DECLINED, type="CardDeclined", non_retryable=True)
        if self.holds_unavailable:
            self.holds_unavailable -= 1
            raise ApplicationError("Stripe refused", type="CardRejected", non_retryable=True)
        return CardHold(payment_intent_id=f"pi_hold_{next(self.numbers)}", card_summary="Visa •••• 4242")

    @fake_of(ApplicationActivities.release_hold)
    async def release_hold(self, payment_intent_id: str) -> None:
        self._record("release_hold", payment_intent_id)

    @fake_of(ApplicationActivities.capture_payment)
    async def capture_payment(self, request: Capture) -> int:
        self._record("capture_payment", request)
        if self.capture_refused:
            self.capture_refused = False
            raise ApplicationError(
                "This PaymentIntent was canceled.", type="CaptureRefused", non_retryable=True
            )
        return 1

    @fake_of(ApplicationActivities.bind_policy)
    async def bind_policy(self, session_id: str) -> str:
        self._record("bind_policy", session_id)
        return "pol_fake"

    @fake_of(ApplicationActivities.complete_application)
    async def complete_application(self, completion: Completion) -> Snapshots:
        self._record("complete_application", completion)
        policy = {"id": completion.policy_id, "object": "policy"} if completion.policy_id else None
        return Snapshots(
            session={"id": completion.session_id, "status": "APPLICATION_COMPLETE"}, policy=policy
        )

    @fake_of(ApplicationActivities.hand_over_engagement)
    async def hand_over_engagement(self, session_id: str) -> str | None:
        self._record("hand_over_engagement", session_id)
        return "an_fake"

    @fake_of(ApplicationActivities.send_payment_confirmation)
    async def send_payment_confirmation(self, session_id: str) -> None:
        self._record("send_payment_confirmation", session_id)

    @fake_of(ApplicationActivities.payment_method_of_session)
    async def payment_method_of_session(self, session_id: str) -> str:
        self._record("payment_method_of_session", session_id)
        return "pm_saved"

    @fake_of(ApplicationReviewActivities.record_review)
    async def record_review(self, record: ReviewRecord) -> None:
        self._record("record_review", record)

    def all(self) -> list[Callable[..., Any]]:
        return [
            getattr(self, name)
            for name in dir(type(self))
            if activity._Definition.from_callable(getattr(type(self), name)) is not None
        ]

    # Reading what happened

    def events(self) -> list[str]:
        return [e.type for e in self.of("record_event")] + [
            p.announce.type for p in self.of("record_assignment_progress") if p.announce
        ]

    def emails(self) -> list[str]:
        return [e.kind for e in self.of("send_assignment_email")]

    def charged(self) -> list[int]:
        return [c.amount for c in self.of("charge_card")]


@asynccontextmanager
async def worker(env: WorkflowEnvironment, fakes: FakeActivities) -> AsyncIterator[str]:
    """Both workflows, in the sandbox production runs them in, with the fakes; yields the task queue.

    Unlike production's worker, an exception in workflow code fails the run instead of retrying the task:
    a broken workflow then fails its test at once rather than leaving an Update waiting."""
    task_queue = fakes.task_queue = f"unit-{uuid4().hex[:8]}"
    async with Worker(
        env.client,
        task_queue=task_queue,
        workflows=[AssignmentWorkflow, ApplicationWorkflow],
        activities=fakes.all(),
        workflow_runner=WORKFLOW_RUNNER,
        workflow_failure_exception_types=[Exception],  # a bug fails the run at once
    ):
        yield task_queue


async def eventually(check: Callable[[], object], timeout: float = 10) -> None:
    """Activities run in real time (only timers are skipped): wait, briefly, for what they record."""
    deadline = time.monotonic() + timeout
    while not check() and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert check(), "the expected state never came"
