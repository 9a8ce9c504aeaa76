"""Publishing an event from a workflow: one activity, with an event id made in the workflow (so a retried
activity records it once, and replay makes the same id)."""

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.events import EventActivities, EventToRecord


async def publish(organization_id: str, environment: str, event_type: str, data: dict[str, object]) -> None:
    await workflow.execute_activity_method(
        EventActivities.record_event,
        EventToRecord(
            event_id=f"ev_{workflow.uuid4().hex[:20]}",
            organization_id=organization_id,
            environment=environment,
            type=event_type,
            data=data,
        ),
        summary=event_type,
        start_to_close_timeout=timedelta(seconds=30),
    )
