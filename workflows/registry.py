"""The workflows the worker registers."""

from workflows.application import ApplicationWorkflow
from workflows.assignment import AssignmentWorkflow
from workflows.email_delivery import EmailDeliveryWorkflow
from workflows.outbox_sweep import OutboxSweepWorkflow
from workflows.webhook_delivery import WebhookDeliveryWorkflow

WORKFLOWS: list[type] = [
    ApplicationWorkflow,
    AssignmentWorkflow,
    WebhookDeliveryWorkflow,
    EmailDeliveryWorkflow,
    OutboxSweepWorkflow,
]
