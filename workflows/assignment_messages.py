"""Inputs, update payloads and results of the AssignmentWorkflow and its activities."""

from typing import Any

from pydantic import BaseModel

ASSIGNMENT_WORKFLOW = "AssignmentWorkflow"


class CarriedState(BaseModel):
    """What a continued-as-new run takes over from the last one."""

    premium: int
    collected: int
    payments: list[tuple[str, int]]
    revision: int
    card_revision: int
    invoice_id: str | None
    seen_invoices: list[str]
    status: str
    ends_at: int
    adjustment_sequence: int = 0


class AssignmentInput(BaseModel):
    assignment_id: str
    organization_id: str
    environment: str
    contractor_id: str
    coverage_path: str
    payer: str  # "card" or "remit"
    premium: int
    notice_seconds: int
    ends_at: int
    carried: CarriedState | None = None
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


class AssignmentState(BaseModel):
    status: str
    premium: int
    collected: int
    charge_due_at: int | None
    revision: int
    last_failure: str | None = None


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


class Announcement(BaseModel):
    """An event to record in the same transaction as the progress: its id is made in the workflow, its data
    is the stored assignment plus ``extra``."""

    event_id: str
    type: str
    extra: dict[str, Any] = {}


class AssignmentProgress(BaseModel):
    assignment_id: str
    status: str
    collected: int
    premium: int
    paid_invoice_id: str | None = None
    announce: Announcement | None = None
