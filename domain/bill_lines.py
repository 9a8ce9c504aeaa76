"""What a bill's line is for, in the words of the finance staff who pay it: the job, the coverage and the
period it covers (pure: no I/O)."""

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from domain.coverage import CoverageType

COVERAGE_NAMES: dict[str, str] = {
    CoverageType.GENERAL: "General liability",
    CoverageType.WORKERS_COMP: "Workers' compensation",
    CoverageType.PROFESSIONAL: "Professional liability",
}
PREMIUM = "Insurance premium"
ADJUSTMENT = "Premium adjustment"


class PoContactFrom(StrEnum):
    """Whose contact a bill's PO contact is."""

    JOB = "job"  # the job's metadata names one
    ORGANIZATION = "organization"  # the job names none: the organization's billing contact


@dataclass(frozen=True)
class BilledCoverage:
    """The job, coverage types and period a line is for (any of them unknown: None / empty)."""

    job_id: str | None = None
    job_name: str | None = None
    coverage: tuple[str, ...] = ()
    period_start: int | None = None
    period_end: int | None = None


def coverage_words(coverage: tuple[str, ...] | list[str]) -> str:
    names = [COVERAGE_NAMES.get(c, c.replace("-", " ")) for c in coverage]
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1].lower()}"


def _day(ts: int) -> str:
    moment = datetime.fromtimestamp(ts, UTC)
    return f"{moment:%b} {moment.day}, {moment.year}"


def period_words(start: int | None, end: int | None) -> str:
    if start is None or end is None:
        return ""
    return f"{_day(start)} to {_day(end)}"


def line_kind(description: str) -> str:
    """A workflow's line says what it is ("Insurance premium, …" or "Adjustment to the premium of …")."""
    return ADJUSTMENT if description.startswith("Adjustment") else PREMIUM


def line_description(kind: str, billed: BilledCoverage) -> str:
    """ "Insurance premium: Dog walking · Workers' compensation · Jan 3, 2027 to Feb 2, 2027"."""
    parts = [
        billed.job_name or "",
        coverage_words(billed.coverage),
        period_words(billed.period_start, billed.period_end),
    ]
    said = [p for p in parts if p]
    return f"{kind}: {' · '.join(said)}" if said else kind
