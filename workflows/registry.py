"""The workflows the worker registers, and the sandbox they run in."""

from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from workflows.application import ApplicationWorkflow
from workflows.application_reminders import ApplicationRemindersWorkflow
from workflows.assignment import AssignmentWorkflow
from workflows.certificate_review import CertificateReviewWorkflow
from workflows.contractor_import import ContractorImportWorkflow
from workflows.creatoriq_sync import CreatorIQPollWorkflow, CreatorIQScanWorkflow, CreatorSyncWorkflow
from workflows.email_delivery import EmailDeliveryWorkflow
from workflows.lifecycle_sweep import LifecycleSweepWorkflow
from workflows.outbox_sweep import OutboxSweepWorkflow
from workflows.webhook_delivery import WebhookDeliveryWorkflow

WORKFLOWS: list[type] = [
    ApplicationWorkflow,
    AssignmentWorkflow,
    WebhookDeliveryWorkflow,
    EmailDeliveryWorkflow,
    OutboxSweepWorkflow,
    LifecycleSweepWorkflow,
    CreatorSyncWorkflow,
    CreatorIQScanWorkflow,
    CreatorIQPollWorkflow,
    ContractorImportWorkflow,
    CertificateReviewWorkflow,
    ApplicationRemindersWorkflow,
]

# The sandbox re-imports each workflow's module for every run unless it is passed through. Ours keep no
# state at module level and import only deterministic code (their activities and contracts already come in
# passed through), so they are shared: a new run then costs no imports. The sandbox still checks every call
# the workflow code makes. email_validator (used by the pure CreatorIQ rules) imports its parts lazily.
WORKFLOW_RUNNER = SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules(
        "workflows", "contracts", "domain", "email_validator", "idna"
    )
)
