"""The pure rule behind the dashboard's duplicate-assignment question (domain/duplicate_assignments.py): the
same contractor and job, dates that overlap, an assignment still in force."""

from domain.dates import DAY
from domain.duplicate_assignments import Existing, likely_duplicates, overlaps
from domain.statuses import AssignmentStatus

START = 1_900_000_000


def _held(
    name: str,
    start_day: int,
    end_day: int,
    status: AssignmentStatus = AssignmentStatus.ACTIVE,
    cancelled: bool = False,
) -> Existing:
    return Existing(name, status, cancelled, START + start_day * DAY, START + end_day * DAY)


def test_periods_overlap_when_they_share_a_moment_not_when_one_ends_as_the_other_starts() -> None:
    assert overlaps(0, 10, 5, 15) and overlaps(5, 15, 0, 10) and overlaps(0, 10, 2, 3)
    assert not overlaps(0, 10, 10, 20) and not overlaps(10, 20, 0, 10)


def test_only_assignments_in_force_with_overlapping_dates_are_likely_duplicates() -> None:
    held = [
        _held("an_overlapping", 0, 30),
        _held("an_pending", 20, 40, AssignmentStatus.PENDING),
        _held("an_before", -40, -10),
        _held("an_cancelled", 0, 30, AssignmentStatus.CANCELLED, cancelled=True),
        _held("an_expired", 0, 30, AssignmentStatus.EXPIRED),
        _held("an_not_bound", 0, 30, AssignmentStatus.NOT_BOUND),
        _held("an_failed_charge", 5, 10, AssignmentStatus.CHARGE_FAILED),
    ]
    found = likely_duplicates(held, START + 5 * DAY, START + 25 * DAY)
    assert found == ["an_overlapping", "an_pending", "an_failed_charge"]
    assert likely_duplicates(held, START + 40 * DAY, START + 50 * DAY) == []
