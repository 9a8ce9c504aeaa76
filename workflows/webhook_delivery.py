"""Deliver one event to one webhook endpoint, retrying with exponential backoff for days."""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.webhooks import WebhookActivities
    from contracts.delivery import WEBHOOK_DELIVERY_WORKFLOW, WebhookDeliveryRequest
    from domain.statuses import DeliveryStatus
    from workflows.retry_window import deliver_or_give_up

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
    async def run(self, request: WebhookDeliveryRequest) -> DeliveryStatus:
        delivered = await deliver_or_give_up(
            WebhookActivities.deliver_webhook,
            WebhookActivities.give_up_webhook_delivery,
            request.delivery_id,
            window_seconds=request.retry_window_seconds,
            retry_policy=DELIVERY_RETRY,
            summary="POST the signed event",
        )
        return DeliveryStatus.DELIVERED if delivered else DeliveryStatus.FAILED
