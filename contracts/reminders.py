"""Inputs and outputs of the application reminder sweep (workflows/application_reminders.py)."""

from pydantic import BaseModel

from contracts.calls import QueryName, SignalName

APPLICATION_REMINDERS_WORKFLOW = "ApplicationRemindersWorkflow"
# One sweep for the whole service: the worker starts it under this id (outbox/schedule.py), once.
APPLICATION_REMINDERS_WORKFLOW_ID = "application-reminders"


class ReminderSchedule(BaseModel):
    every_seconds: int  # between two sweeps
    sweeps_per_run: int = 24  # then the workflow continues as new, so its history stays short


class ReminderSweep(BaseModel):
    at: int  # the sweep's moment (unix seconds, the workflow's clock): what "today" and "days" count from


class ReminderReport(BaseModel):
    looked_at: int
    sent: int
    at: int = 0  # the sweep's moment


# The interval, in seconds, of the worker that made sure the sweep runs (it applies from the next wait on).
SWEEP_EVERY = SignalName[int]("sweep_every")
# The last finished sweep's report, for ops and the tests (``at`` 0 before the run's first sweep).
LAST_SWEEP = QueryName[ReminderReport]("last_sweep", ReminderReport)
