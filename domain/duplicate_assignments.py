"""When a new assignment likely repeats one that already exists: the same contractor and job, with dates that
overlap those of an assignment still in force (neither cancelled nor ended). Pure: the service reads the
assignments, this decides."""

from collections.abc import Iterable
from dataclasses import dataclass

from domain.assignment_actions import ENDED
from domain.statuses import AssignmentStatus


@dataclass(frozen=True)
class Existing:
    """An assignment of the same contractor and job, as the rule needs it."""

    id: str
    status: AssignmentStatus
    cancelled: bool
    effective_date: int
    end_date: int


def overlaps(start: int, end: int, other_start: int, other_end: int) -> bool:
    """Two periods [start, end) share at least one moment."""
    return start < other_end and other_start < end


def likely_duplicates(existing: Iterable[Existing], start: int, end: int) -> list[str]:
    """The ids of the assignments in force whose dates overlap [start, end), in the order given."""
    return [
        a.id
        for a in existing
        if not a.cancelled
        and a.status not in ENDED
        and a.status != AssignmentStatus.NOT_BOUND
        and overlaps(start, end, a.effective_date, a.end_date)
    ]
