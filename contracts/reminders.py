"""Inputs and outputs of the application reminder sweep (workflows/application_reminders.py)."""

from pydantic import BaseModel

APPLICATION_REMINDERS_WORKFLOW = "ApplicationRemindersWorkflow"
# One sweep for the whole service: the worker starts it under this id (outbox/schedule.py), once.
APPLICATION_REMINDERS_WORKFLOW_ID = "application-reminders"
SWEEP_EVERY = "sweep_every"  # signal: the interval of the worker that (re)started it, in seconds


class ReminderSchedule(BaseModel):
    every_seconds: int  # between two sweeps
    sweeps_per_run: int = 24  # then the workflow continues as new, so its history stays short


class ReminderSweep(BaseModel):
    at: int  # the sweep's moment (unix seconds, the workflow's clock): what "today" and "days" count from


class ReminderReport(BaseModel):
    looked_at: int
    sent: int
    at: int = 0  # the sweep's moment


LAST_SWEEP = "last_sweep"  # query: the last finished sweep's report (ops, tests), None before the first
