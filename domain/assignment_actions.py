"""What may still be done to an assignment: the rules the services enforce and the dashboard offers."""

from domain.statuses import AssignmentStatus

ENDED = (AssignmentStatus.CANCELLED, AssignmentStatus.EXPIRED)


def may_cancel(cancelled: bool, effective_date: int, now: int) -> bool:
    """Only before its start date, and only once."""
    return not cancelled and effective_date > now


def may_extend(status: str, cancelled: bool) -> bool:
    """Not once it is cancelled or has expired."""
    return not cancelled and status not in ENDED


SETTLED = (AssignmentStatus.ACTIVE, AssignmentStatus.NOT_BOUND, *ENDED)


def settled(status: str, charge_due: bool) -> bool:
    """Waiting on nothing (no binding, application, charge or bank confirmation): a page showing it need not
    watch it for changes."""
    return status in SETTLED and not charge_due
