"""Send one recorded email, retrying while the SMTP server is unreachable."""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.emails import EmailActivities
    from workflows.messages import EMAIL_DELIVERY_WORKFLOW, DeliveryFailure, EmailRequest

SMTP_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=10),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=15),
    non_retryable_error_types=["EmailRejected"],
)


@workflow.defn(name=EMAIL_DELIVERY_WORKFLOW)
class EmailDeliveryWorkflow:
    @workflow.run
    async def run(self, request: EmailRequest) -> str:
        try:
            await workflow.execute_activity_method(
                EmailActivities.send_email,
                request.email_id,
                start_to_close_timeout=timedelta(seconds=60),
                schedule_to_close_timeout=timedelta(seconds=request.retry_window_seconds),
                retry_policy=SMTP_RETRY,
                summary="hand the message to SMTP",
            )
        except ActivityError as error:
            reason = str(error.cause) if error.cause else str(error)
            await workflow.execute_activity_method(
                EmailActivities.give_up_email,
                DeliveryFailure(id=request.email_id, reason=reason),
                start_to_close_timeout=timedelta(seconds=30),
            )
            return "failed"
        return "sent"
