"""The reminder sweep: one long-running workflow (``application-reminders``) that wakes every
``every_seconds`` and emails the contractors whose unfinished application is due a reminder at that moment
(domain/reminders.py). Its timers are durable: a worker that stops, or a Temporal restart, delays a sweep,
never loses the schedule. After ``sweeps_per_run`` sweeps it continues as new, so its history stays short.
Each worker starts it on startup if it is not running, or tells the running one its interval (a signal):
one sweep for the whole service (outbox/schedule.py)."""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.reminders import ReminderActivities
    from contracts.reminders import (
        APPLICATION_REMINDERS_WORKFLOW,
        LAST_SWEEP,
        SWEEP_EVERY,
        ReminderReport,
        ReminderSchedule,
        ReminderSweep,
    )

SWEEP_RETRY = RetryPolicy(initial_interval=timedelta(seconds=5), maximum_interval=timedelta(minutes=5))


@workflow.defn(name=APPLICATION_REMINDERS_WORKFLOW)
class ApplicationRemindersWorkflow:
    def __init__(self) -> None:
        self._every_seconds = 0
        self._last = ReminderReport(looked_at=0, sent=0, at=0)

    @workflow.query(name=LAST_SWEEP.name)
    def last_sweep(self) -> ReminderReport:
        return self._last

    @workflow.signal(name=SWEEP_EVERY.name)
    def sweep_every(self, seconds: int) -> None:
        """The interval a starting worker has (its setting): it applies from the next wait on."""
        if seconds > 0:
            self._every_seconds = seconds

    @workflow.run
    async def run(self, schedule: ReminderSchedule) -> None:
        self._every_seconds = self._every_seconds or schedule.every_seconds
        for _ in range(schedule.sweeps_per_run):
            every = timedelta(seconds=self._every_seconds)
            at = int(workflow.now().timestamp())
            try:
                self._last = await workflow.execute_activity_method(
                    ReminderActivities.send_application_reminders,
                    ReminderSweep(at=at),
                    start_to_close_timeout=timedelta(minutes=10),
                    # a sweep that cannot finish before the next one is due leaves it to the next
                    schedule_to_close_timeout=max(every, timedelta(minutes=1)),
                    heartbeat_timeout=timedelta(minutes=2),
                    retry_policy=SWEEP_RETRY,
                    summary="remind contractors whose application is unfinished",
                )
            except ActivityError:
                workflow.logger.warning("reminder sweep at %s did not finish; the next tries again", at)
            await workflow.sleep(timedelta(seconds=self._every_seconds), summary="until the next sweep")
        workflow.continue_as_new(schedule.model_copy(update={"every_seconds": self._every_seconds}))
