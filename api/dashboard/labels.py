"""Plain words for the values the dashboard's filters and live pages show (statuses, insurance status,
states), for operations and finance staff rather than the API's field values."""

from domain.geography import US_STATES
from domain.statuses import AssignmentStatus
from services.contractor_records import CoverageStatus

ASSIGNMENT_STATUS = {
    AssignmentStatus.PENDING: "Being set up",
    AssignmentStatus.AWAITING_APPLICATION: "Waiting on the contractor's application",
    AssignmentStatus.ACTIVE: "Covered",
    AssignmentStatus.CHARGE_FAILED: "Card charge failed",
    AssignmentStatus.AWAITING_AUTHENTICATION: "Waiting on the contractor's bank",
    AssignmentStatus.NOT_BOUND: "Recorded without coverage",
    AssignmentStatus.CANCELLED: "Cancelled",
    AssignmentStatus.EXPIRED: "Ended",
}

INSURANCE_STATUS = {
    CoverageStatus.COVERED: "Insured",
    CoverageStatus.APPLYING: "Application in progress",
    CoverageStatus.UNCOVERED: "Not insured",
}

STATES = sorted(US_STATES.items(), key=lambda item: item[1])  # (code, name), by name


def assignment_status(value: str) -> str:
    return ASSIGNMENT_STATUS.get(AssignmentStatus(value), value) if value in set(AssignmentStatus) else value
