"""The step both delivery workflows share: retry an activity until its window closes, then give up."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from contracts.delivery import DeliveryFailure


async def deliver_or_give_up(
    deliver: Callable[[Any, str], Any],
    give_up: Callable[[Any, DeliveryFailure], Any],
    item_id: str,
    *,
    window_seconds: int,
    retry_policy: RetryPolicy,
    summary: str,
) -> bool:
    """True once ``deliver(item_id)`` succeeded; False after ``give_up`` recorded why it never did."""
    try:
        await workflow.execute_activity_method(
            deliver,
            item_id,
            start_to_close_timeout=timedelta(seconds=60),
            schedule_to_close_timeout=timedelta(seconds=window_seconds),
            retry_policy=retry_policy,
            summary=summary,
        )
    except ActivityError as error:
        reason = str(error.cause) if error.cause else str(error)
        await workflow.execute_activity_method(
            give_up, DeliveryFailure(id=item_id, reason=reason), start_to_close_timeout=timedelta(seconds=30)
        )
        return False
    return True
