"""Inputs, update payloads and results of the AssignmentWorkflow and its activities."""

from typing import Any

from pydantic import BaseModel, SerializerFunctionWrapHandler, model_serializer, model_validator

from contracts.calls import QueryName, SignalName, UpdateName
from domain.assignment_coverage import CoveragePath
from domain.payer import Payer
from domain.statuses import AssignmentStatus

ASSIGNMENT_WORKFLOW = "AssignmentWorkflow"


def assignment_workflow_id(assignment_id: str) -> str:
    return f"assignment-{assignment_id}"


class WaitingCharge(BaseModel):
    """A charge (the premium, or an increase after it was collected) that the bank asked the contractor to
    confirm: once they have (``authentications`` moved on), that PaymentIntent is taken up by its id; if a new
    amount, a cancellation or the coverage's end supersedes it first, it is closed at the processor."""

    payment_intent_id: str
    amount: int
    idempotency_key: str
    authentications: int  # the ledger's count when the bank asked


class ClosingCharge(BaseModel):
    """``close_waiting_charge``'s request: take the confirmed charge up (``take``), or close it."""

    assignment_id: str
    waiting: WaitingCharge
    take: bool


class AssignmentLedger(BaseModel):
    """Everything the AssignmentWorkflow knows of its assignment's money, carried whole into a continued run.

    The status says where the assignment is; three flags say what the status cannot: ``charged`` (the first
    premium was collected by card, here or by the contractor's application), ``charging`` (that charge is
    under way: a cancellation waits for it) and ``cancelled`` (asked for; the status says so once settled).
    ``active`` follows from the status.

    Runs recorded before the whole ledger was carried passed only the first ten fields: the others then
    follow from the status (such a run had always finished charging)."""

    premium: int
    collected: int = 0  # captured minus refunded (or billed, for remit)
    payments: list[tuple[str, int]] = []  # (PaymentIntent, what is left of it to refund)
    revision: int = 0  # bumped by every adjustment
    card_revision: int = 0  # bumped when the contractor saves a new card
    invoice_id: str | None = None
    seen_invoices: list[str] = []
    status: AssignmentStatus = AssignmentStatus.PENDING
    ends_at: int
    adjustment_sequence: int = 0  # the newest adjustment taken, in the order the API committed them
    charged: bool = False
    charging: bool = False
    cancelled: bool = False
    cancel_reason: str = ""
    charge_due_at: int | None = None
    last_failure: str | None = None
    authentication_intent: str | None = None  # the charge (PaymentIntent) waiting for the contractor
    authentications: int = 0  # bumped when the contractor confirms a waiting charge with their bank
    # Set when an increase after the premium was collected is declined: the card revision it was declined
    # on. The difference (premium - collected) stays owed until a new card (or an adjustment) settles it.
    declined_increase_cards: int | None = None
    # Set when the bank asks the contractor to confirm a charge (3-D Secure): see WaitingCharge.
    waiting_charge: WaitingCharge | None = None

    @property
    def active(self) -> bool:
        """The coverage is in force (or was, until it expired)."""
        return self.status in (AssignmentStatus.ACTIVE, AssignmentStatus.EXPIRED)

    @model_serializer(mode="wrap")
    def _with_active(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # ``active`` is still serialized, so a ledger carried into a new run keeps its shape (and a worker of
        # the previous release reads it); read back, the status says it.
        return {**handler(self), "active": self.active}

    @model_validator(mode="before")
    @classmethod
    def _from_earlier_runs(cls, data: Any) -> Any:
        if isinstance(data, dict) and "charged" not in data and "collected" in data:
            data = {**data, "charged": data.get("status") == AssignmentStatus.ACTIVE}
        return data


class AssignmentInput(BaseModel):
    assignment_id: str
    organization_id: str
    environment: str
    contractor_id: str
    coverage_path: CoveragePath
    payer: Payer
    premium: int
    notice_seconds: int
    ends_at: int
    carried: AssignmentLedger | None = None
    max_history_events: int | None = None  # tests set a small one; otherwise Temporal suggests when


class InvoiceAdjustment(BaseModel):
    invoice_id: str
    premium: int
    sequence: int | None = None  # the premium_adjustments row; one older than the last taken is ignored


class AdjustmentResult(BaseModel):
    premium: int
    before_charge: bool
    collected: int


class NewCard(BaseModel):
    payment_method_id: str


class Coverage(BaseModel):
    """A standard-path assignment's application is complete: what it collected (captured on the card, or
    billed to the organization), which this workflow then owns (adjustments, refunds, cancellation)."""

    amount: int
    payment_intent_id: str | None = None  # None: billed (remit)


class NewTerms(BaseModel):
    """New terms for an assignment whose coverage is bound and whose premium is not collected yet (``PUT
    /assignments/{id}``), as ``POST /assignments`` decided them: its workflow binds them and charges the new
    premium after a new notice."""

    assignment_id: str
    contractor_id: str
    job_id: str
    policy_id: str | None  # a policy on file; None: bind a new one (general opt-in, application on file)
    coverage_type: list[str]
    effective_date: int
    end_date: int
    bind: bool
    coverage_path: CoveragePath
    eligible_message: str
    net_rate: int
    premium: int


class AssignmentState(BaseModel):
    status: AssignmentStatus
    premium: int
    collected: int
    charge_due_at: int | None
    revision: int
    last_failure: str | None = None
    # The PaymentIntent of a charge that waits for the contractor to confirm it with their bank (3-D Secure).
    authentication_intent: str | None = None


# Activity payloads


class ChargeRequest(BaseModel):
    assignment_id: str
    amount: int
    idempotency_key: str
    invoice_id: str | None = None


class ChargeOutcome(BaseModel):
    ok: bool
    payment_intent_id: str | None = None
    message: str | None = None
    # The bank asks the contractor to confirm the payment (3-D Secure): nothing moved, the payment waits.
    authentication_required: bool = False


class RefundRequest(BaseModel):
    assignment_id: str
    payment_intent_id: str
    amount: int
    idempotency_key: str


class AssignmentEmail(BaseModel):
    assignment_id: str
    kind: str
    key: str  # what makes this email unique (so a retried activity sends it once)
    amount: int = 0
    previous_amount: int = 0
    charge_at: int = 0
    reason: str = ""
    payment_intent_id: str | None = None
    coverage_active: bool = False  # a charge failure for an increase: the coverage itself stays in force


class Announcement(BaseModel):
    """An event to record in the same transaction as the progress: its id is made in the workflow, its data
    is the stored assignment plus ``extra``."""

    event_id: str
    type: str
    extra: dict[str, Any] = {}


class AssignmentProgress(BaseModel):
    assignment_id: str
    status: AssignmentStatus
    collected: int
    premium: int
    paid_invoice_id: str | None = None
    announce: Announcement | None = None


# What the API, the outbox and the application send a running assignment.
ADJUST = UpdateName[InvoiceAdjustment, AdjustmentResult]("adjust", AdjustmentResult)
EXTEND = UpdateName[int, AssignmentState]("extend", AssignmentState)  # the new end, in epoch seconds
CANCEL = UpdateName[str, AssignmentState]("cancel", AssignmentState)  # the reason
# New terms before the premium is collected (PUT /assignments on a bound assignment in its notice window).
REBIND = UpdateName[NewTerms, AssignmentState]("rebind", AssignmentState)
COVERED = SignalName[Coverage]("covered")
CARD_UPDATED = SignalName[NewCard]("card_updated")
# The contractor confirmed the waiting charge (its PaymentIntent) with their bank (3-D Secure).
PAYMENT_AUTHENTICATED = SignalName[str]("payment_authenticated")
ASSIGNMENT_STATE = QueryName[AssignmentState]("state", AssignmentState)
