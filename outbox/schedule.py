"""The Temporal schedule that runs the outbox sweep."""

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
)

from common.settings import Settings
from workflows.messages import OUTBOX_SWEEP_WORKFLOW, SweepRequest

SCHEDULE_ID = "gigcover-outbox-sweep"


async def ensure_outbox_schedule(client: Client, settings: Settings) -> None:
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(
            OUTBOX_SWEEP_WORKFLOW,
            SweepRequest(older_than_seconds=30),
            id="outbox-sweep",
            task_queue=settings.task_queue,
        ),
        spec=ScheduleSpec(
            intervals=[ScheduleIntervalSpec(every=timedelta(seconds=settings.outbox_sweep_seconds))]
        ),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )
    with contextlib.suppress(ScheduleAlreadyRunningError):
        await client.create_schedule(SCHEDULE_ID, schedule)
