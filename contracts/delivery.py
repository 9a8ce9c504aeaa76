"""Inputs and outputs of the delivery workflows and their activities (one model per argument)."""

from pydantic import BaseModel


class WebhookDeliveryRequest(BaseModel):
    delivery_id: str
    retry_window_seconds: int


class EmailRequest(BaseModel):
    email_id: str
    retry_window_seconds: int


class DeliveryFailure(BaseModel):
    id: str
    reason: str


class SweepRequest(BaseModel):
    older_than_seconds: int = 30


class SweepResult(BaseModel):
    dispatched: int


# Registered workflow type names, so starters (API, dispatcher) need not import workflow code.
WEBHOOK_DELIVERY_WORKFLOW = "WebhookDeliveryWorkflow"
EMAIL_DELIVERY_WORKFLOW = "EmailDeliveryWorkflow"
OUTBOX_SWEEP_WORKFLOW = "OutboxSweepWorkflow"
LIFECYCLE_SWEEP_WORKFLOW = "LifecycleSweepWorkflow"


class LifecycleResult(BaseModel):
    expired_policies: int
    overdue_bills: int
    deleted_uploads: int = 0  # contractor CSVs left unimported past upload_retention_seconds


def webhook_delivery_workflow_id(delivery_id: str) -> str:
    return f"webhook-delivery-{delivery_id}"


def email_workflow_id(email_id: str) -> str:
    return f"email-{email_id}"


class BillLine(BaseModel):
    description: str
    amount: int


class BillRequest(BaseModel):
    bill_id: str
    organization_id: str
    environment: str
    contractor_id: str
    lines: list[BillLine]
    job_id: str | None = None
    policy_id: str | None = None
    assignment_id: str | None = None


class IssuedBill(BaseModel):
    bill_id: str
    amount_due: int
    pdf_url: str
