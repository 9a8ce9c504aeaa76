"""Coverage period rules (unix seconds, UTC days)."""

from dataclasses import dataclass

from domain.errors import DomainError

DAY = 86_400
MAX_TERM = 365 * DAY
DEFAULT_TERM = 30 * DAY
LATEST = 253_402_300_799  # 9999-12-31 23:59:59 UTC: times are 64-bit, this is the last day a date shows


class CoverageDateError(DomainError):
    """Refused dates: the code names the field (``effective_date_invalid``, ``end_date_invalid``)."""

    def __init__(self, field: str, message: str, rule: str) -> None:
        super().__init__(f"{field}_invalid", f"{field}: {message}", field, facts={"rule": rule})


@dataclass(frozen=True)
class CoveragePeriod:
    effective_date: int
    end_date: int


def start_of_day(ts: int) -> int:
    return ts - ts % DAY


def coverage_period(now: int, effective_date: int | None, end_date: int | None) -> CoveragePeriod:
    """Defaults: effective tomorrow, ending 30 days later.

    An end on the same day as the start moves to the next midnight, so coverage spans at least that day.
    """
    effective = effective_date if effective_date is not None else start_of_day(now) + DAY
    if effective < start_of_day(now):
        raise CoverageDateError("effective_date", "effective_date must not be in the past", "past")
    end = end_date if end_date is not None else effective + DEFAULT_TERM
    if start_of_day(end) == start_of_day(effective):
        end = start_of_day(effective) + DAY
    elif end < effective:
        raise CoverageDateError("end_date", "end_date must be after effective_date", "before_start")
    if end > LATEST:
        raise CoverageDateError("end_date", "coverage cannot end after 9999-12-31", "latest")
    if end - effective > MAX_TERM:
        raise CoverageDateError(
            "end_date", "end_date must be at most one year after effective_date", "max_term"
        )
    return CoveragePeriod(effective, end)
