"""The Temporal schedules: the outbox sweep, and the CreatorIQ poll for organizations without webhooks; and
the application reminder sweep, a long-running workflow with its own durable timers (so the time-skipping
test server, which has no schedules, can run it over days)."""

import contextlib
from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    WorkflowHandle,
)

from common.settings import Settings
from contracts.creatoriq import CREATORIQ_POLL_WORKFLOW
from contracts.delivery import LIFECYCLE_SWEEP_WORKFLOW, OUTBOX_SWEEP_WORKFLOW, SweepRequest
from contracts.reminders import (
    APPLICATION_REMINDERS_WORKFLOW,
    APPLICATION_REMINDERS_WORKFLOW_ID,
    SWEEP_EVERY,
    ReminderSchedule,
)

SCHEDULE_ID = "gigcover-outbox-sweep"
CREATORIQ_SCHEDULE_ID = "gigcover-creatoriq-poll"
LIFECYCLE_SCHEDULE_ID = "gigcover-lifecycle-sweep"


def _every(seconds: int) -> ScheduleSpec:
    return ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(seconds=seconds))])


async def ensure_schedules(client: Client, settings: Settings) -> None:
    """Creates the schedules once; an existing one is left as it is (ops may have paused it)."""
    sweep = Schedule(
        action=ScheduleActionStartWorkflow(
            OUTBOX_SWEEP_WORKFLOW,
            SweepRequest(older_than_seconds=30),
            id="outbox-sweep",
            task_queue=settings.task_queue,
        ),
        spec=_every(settings.outbox_sweep_seconds),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )
    creatoriq_poll = Schedule(
        action=ScheduleActionStartWorkflow(
            CREATORIQ_POLL_WORKFLOW, id="creatoriq-poll", task_queue=settings.task_queue
        ),
        spec=_every(settings.creatoriq_poll_seconds),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )
    lifecycle = Schedule(
        action=ScheduleActionStartWorkflow(
            LIFECYCLE_SWEEP_WORKFLOW, id="lifecycle-sweep", task_queue=settings.task_queue
        ),
        spec=_every(settings.lifecycle_sweep_seconds),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )
    schedules = (
        (SCHEDULE_ID, sweep),
        (CREATORIQ_SCHEDULE_ID, creatoriq_poll),
        (LIFECYCLE_SCHEDULE_ID, lifecycle),
    )
    for schedule_id, schedule in schedules:
        with contextlib.suppress(ScheduleAlreadyRunningError):
            await client.create_schedule(schedule_id, schedule)
    await ensure_reminder_sweep(client, settings)


async def ensure_reminder_sweep(client: Client, settings: Settings) -> WorkflowHandle[None, None]:
    """Starts the reminder sweep (``application-reminders``) unless it runs; a running one is told this
    worker's interval instead (signal-with-start: one atomic call, so workers starting together make one)."""
    every = settings.application_reminder_sweep_seconds
    return await client.start_workflow(
        APPLICATION_REMINDERS_WORKFLOW,
        ReminderSchedule(every_seconds=every),
        id=APPLICATION_REMINDERS_WORKFLOW_ID,
        task_queue=settings.task_queue,
        start_signal=SWEEP_EVERY.name,
        start_signal_args=[every],
        static_summary="Reminds contractors whose insurance application is unfinished",
    )
