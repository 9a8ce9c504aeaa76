"""When a contractor whose insurance application is unfinished is reminded (pure rules).

The organization chooses, for each environment, after how many days (``REMINDER_DAYS``): none is the
default, so no contractor gets mail the organization did not ask for. Once chosen, an application still
waiting for the contractor is reminded every that many days after it was opened (the first reminder after
one period, the next after two…), at most ``MAX_REMINDERS`` times, at most once in a period and once a
UTC day; a period the sweep missed (the worker was down) is not made up for, only the current one counts.
"""

from datetime import UTC, datetime

from domain.application import Status

DAY_SECONDS = 86_400
REMINDER_DAYS = range(1, 31)  # what an organization may choose: 1 to 30 days
MAX_REMINDERS = 3
REMINDER_DAYS_REFUSED = "application_reminder_days: a number of days from 1 to 30, or null for no reminders"
REMINDER_DAYS_TOO_LATE = (
    "application_reminder_days: a reminder after {days} days would never be sent, because an application's "
    "link works for {lifetime} here and no reminder is sent once it has expired; choose fewer days "
    "({choices}), or null for no reminders"
)
# Waiting for the contractor: applications under an underwriter's review, or ended, get no reminder.
REMINDABLE = frozenset({Status.CREATED, Status.IN_PROGRESS})


def reminder_day(at: int) -> str:
    """The UTC day of ``at`` (unix seconds): at most one reminder per application on it."""
    return datetime.fromtimestamp(at, UTC).date().isoformat()


def reminder_can_send(every_days: int, lifetime_seconds: int) -> bool:
    """Whether reminders every ``every_days`` days can ever be sent for applications whose link works for
    ``lifetime_seconds``: the first falls due ``every_days`` after the application was opened, and none is
    sent at or after its expiry (``reminder_due``), so the period must be shorter than the lifetime."""
    return every_days in REMINDER_DAYS and every_days * DAY_SECONDS < lifetime_seconds


def reminder_choices(lifetime_seconds: int) -> list[int]:
    """The reminder days an organization may choose where applications live ``lifetime_seconds``: those
    that can send."""
    return [days for days in REMINDER_DAYS if reminder_can_send(days, lifetime_seconds)]


def reminder_due(opened_at: int, expires_at: int, at: int, every_days: int, sent_at: list[int]) -> bool:
    """Whether an unfinished application opened at ``opened_at`` gets a reminder at ``at``, given when its
    earlier reminders went (``sent_at``)."""
    if at >= expires_at or len(sent_at) >= MAX_REMINDERS or every_days not in REMINDER_DAYS:
        return False
    period = every_days * DAY_SECONDS
    periods = (at - opened_at) // period
    if periods < 1:
        return False
    this_period_began = opened_at + periods * period
    today = reminder_day(at)
    return not any(sent >= this_period_began or reminder_day(sent) == today for sent in sent_at)
