"""What may still be done to an assignment: the rules the services enforce and the dashboard offers."""

from domain.statuses import AssignmentStatus

ENDED = (AssignmentStatus.CANCELLED, AssignmentStatus.EXPIRED)


def may_cancel(cancelled: bool, effective_date: int, now: int) -> bool:
    """Only before its start date, and only once."""
    return not cancelled and effective_date > now


def may_extend(status: str, cancelled: bool) -> bool:
    """Not once it is cancelled or has expired."""
    return not cancelled and status not in ENDED
