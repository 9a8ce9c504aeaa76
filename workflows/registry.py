"""The workflows the worker registers, and the sandbox they run in."""

from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from workflows.application import ApplicationWorkflow
from workflows.assignment import AssignmentWorkflow
from workflows.creatoriq_sync import CreatorIQPollWorkflow, CreatorIQScanWorkflow, CreatorSyncWorkflow
from workflows.email_delivery import EmailDeliveryWorkflow
from workflows.outbox_sweep import OutboxSweepWorkflow
from workflows.webhook_delivery import WebhookDeliveryWorkflow

WORKFLOWS: list[type] = [
    ApplicationWorkflow,
    AssignmentWorkflow,
    WebhookDeliveryWorkflow,
    EmailDeliveryWorkflow,
    OutboxSweepWorkflow,
    CreatorSyncWorkflow,
    CreatorIQScanWorkflow,
    CreatorIQPollWorkflow,
]

# email_validator (used by the pure CreatorIQ rules) imports its parts lazily; they are deterministic, so
# they are shared with the sandbox instead of being re-imported inside it.
WORKFLOW_RUNNER = SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules("email_validator", "idna")
)
