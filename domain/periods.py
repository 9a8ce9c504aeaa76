"""The period a report covers (UTC days) and its steps by week or by month, as staff choose them."""

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from domain.dates import DAY
from domain.errors import invalid

LONGEST = 2 * 366  # days a report may cover
UTC = dt.UTC


class Grouping(StrEnum):
    WEEK = "week"
    MONTH = "month"


class Preset(StrEnum):
    LAST_30_DAYS = "30d"
    LAST_90_DAYS = "90d"
    LAST_12_MONTHS = "12m"
    THIS_YEAR = "year"
    CUSTOM = "custom"


PRESET_WORDS = {
    Preset.LAST_30_DAYS: "Last 30 days",
    Preset.LAST_90_DAYS: "Last 90 days",
    Preset.LAST_12_MONTHS: "Last 12 months",
    Preset.THIS_YEAR: "This year so far",
    Preset.CUSTOM: "Dates I choose",
}


@dataclass(frozen=True)
class Step:
    """One week or month of a report: [start, end) in unix seconds, and how a person names it."""

    start: int
    end: int
    label: str
    short: str  # under a chart: "Mar 9" for a week, "Mar 2026" for a month


@dataclass(frozen=True)
class Period:
    """[start, end) in unix seconds (UTC midnights), shown by week or by month."""

    preset: Preset
    start: int
    end: int
    grouping: Grouping

    @property
    def first_day(self) -> dt.date:
        return _day(self.start)

    @property
    def last_day(self) -> dt.date:
        return _day(self.end - DAY)


def _day(ts: int) -> dt.date:
    return dt.datetime.fromtimestamp(ts, UTC).date()


def _ts(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


def _parse(text: str, which: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise invalid(f"Choose the {which} date from the calendar (for example 2026-01-31).", which) from None


def choose_period(preset: str, first: str, last: str, grouping: str, today: dt.date) -> Period:
    """The period a viewer asked for: a preset ending today, or their own first and last day (inclusive).
    Unknown choices fall back to the last 12 months by month; dates that cannot be a period are refused in
    words a person can act on."""
    chosen = Preset(preset) if preset in set(Preset) else Preset.LAST_12_MONTHS
    by = Grouping(grouping) if grouping in set(Grouping) else None
    end = today + dt.timedelta(days=1)
    if chosen is Preset.CUSTOM:
        start_day, last_day = _parse(first, "first"), _parse(last, "last")
        if last_day < start_day:
            raise invalid("The last day comes before the first day: swap them.", "last")
        if (last_day - start_day).days >= LONGEST:
            raise invalid("A report covers at most two years: choose a shorter period.", "last")
        start, end = start_day, last_day + dt.timedelta(days=1)
    elif chosen is Preset.LAST_30_DAYS:
        start = end - dt.timedelta(days=30)
    elif chosen is Preset.LAST_90_DAYS:
        start = end - dt.timedelta(days=90)
    elif chosen is Preset.THIS_YEAR:
        start = dt.date(today.year, 1, 1)
    else:
        start = _add_months(dt.date(today.year, today.month, 1), -11)
    if by is None:
        by = Grouping.WEEK if (end - start).days <= 92 else Grouping.MONTH
    return Period(chosen, _ts(start), _ts(end), by)


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def steps(period: Period) -> list[Step]:
    """The weeks (starting Mondays) or calendar months the period touches, each cut to the period."""
    first = period.first_day
    if period.grouping is Grouping.WEEK:
        cursor = first - dt.timedelta(days=first.weekday())
    else:
        cursor = dt.date(first.year, first.month, 1)
    found: list[Step] = []
    while _ts(cursor) < period.end:
        if period.grouping is Grouping.WEEK:
            following, shown = cursor + dt.timedelta(days=7), max(cursor, first)
            short = f"{shown:%b} {shown.day}"
            label = f"Week of {short}, {shown.year}"
        else:
            following = _add_months(cursor, 1)
            label = short = f"{cursor:%b %Y}"
        found.append(Step(max(_ts(cursor), period.start), min(_ts(following), period.end), label, short))
        cursor = following
    return found


def step_of(found: list[Step], ts: int) -> int | None:
    """The index of the step holding ``ts`` (None: outside the period)."""
    low, high = 0, len(found)
    while low < high:
        middle = (low + high) // 2
        if ts < found[middle].start:
            high = middle
        elif ts >= found[middle].end:
            low = middle + 1
        else:
            return middle
    return None
