"""Deliver one event to one webhook endpoint, retrying with exponential backoff for days."""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.webhooks import WebhookActivities
    from workflows.messages import WEBHOOK_DELIVERY_WORKFLOW, DeliveryFailure, WebhookDeliveryRequest

# 30 s, 1 min, 2 min, … then every 6 hours until the retry window closes (about 20 attempts in 3 days).
DELIVERY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=30),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(hours=6),
    non_retryable_error_types=["DeliveryCancelled"],
)


@workflow.defn(name=WEBHOOK_DELIVERY_WORKFLOW)
class WebhookDeliveryWorkflow:
    @workflow.run
    async def run(self, request: WebhookDeliveryRequest) -> str:
        try:
            await workflow.execute_activity_method(
                WebhookActivities.deliver_webhook,
                request.delivery_id,
                start_to_close_timeout=timedelta(seconds=60),
                schedule_to_close_timeout=timedelta(seconds=request.retry_window_seconds),
                retry_policy=DELIVERY_RETRY,
                summary="POST the signed event",
            )
        except ActivityError as error:
            reason = str(error.cause) if error.cause else str(error)
            await workflow.execute_activity_method(
                WebhookActivities.give_up_webhook_delivery,
                DeliveryFailure(id=request.delivery_id, reason=reason),
                start_to_close_timeout=timedelta(seconds=30),
            )
            return "failed"
        return "delivered"
