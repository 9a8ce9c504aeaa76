"""Send one recorded email, retrying while the SMTP server is unreachable."""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.emails import EmailActivities
    from contracts.delivery import EMAIL_DELIVERY_WORKFLOW, EmailRequest
    from domain.statuses import EmailStatus
    from workflows.retry_window import deliver_or_give_up

SMTP_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=10),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=15),
    non_retryable_error_types=["EmailRejected"],
)


@workflow.defn(name=EMAIL_DELIVERY_WORKFLOW)
class EmailDeliveryWorkflow:
    @workflow.run
    async def run(self, request: EmailRequest) -> EmailStatus:
        sent = await deliver_or_give_up(
            EmailActivities.send_email,
            EmailActivities.give_up_email,
            request.email_id,
            window_seconds=request.retry_window_seconds,
            retry_policy=SMTP_RETRY,
            summary="hand the message to SMTP",
        )
        return EmailStatus.SENT if sent else EmailStatus.FAILED
