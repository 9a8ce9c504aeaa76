"""Plain words for the values the dashboard's filters and live pages show (statuses, insurance status,
states), for operations and finance staff rather than the API's field values."""

from domain.certificates import CertificateStatus
from domain.coverage import COVERAGE_WORDS
from domain.geography import US_STATES
from domain.roles import Role
from domain.statuses import (
    AssignmentStatus,
    BillStatus,
    DeliveryStatus,
    EmailStatus,
    InvoiceStatus,
    PolicyStatus,
    WebhookEndpointStatus,
)
from services.contractor_records import CoverageStatus
from services.jobs import PAY_TYPE_WORDS

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

BILL_STATUS = {
    BillStatus.OPEN: "Open",
    BillStatus.PAID: "Paid",
    BillStatus.OVERDUE: "Overdue",
    BillStatus.VOID: "Cancelled",
}

POLICY_STATUS = {
    PolicyStatus.ACTIVE: "In force",
    PolicyStatus.CANCELLED: "Cancelled",
    PolicyStatus.EXPIRED: "Ended",
}

INVOICE_STATUS = {  # final pay reported for an assignment, and its premium
    InvoiceStatus.OPEN: "Premium due",
    InvoiceStatus.PAID: "Premium paid",
    InvoiceStatus.VOID: "Cancelled",
}

CERTIFICATE_STATUS = {
    CertificateStatus.PENDING: "Waiting to be checked",
    CertificateStatus.PROCESSING: "Being checked",
    CertificateStatus.APPROVED: "Approved",
    CertificateStatus.FLAGGED: "Needs a decision",
    CertificateStatus.DENIED: "Denied",
    CertificateStatus.ERROR: "Could not be read",
}

EMAIL_STATUS = {
    EmailStatus.PENDING: "Being sent",
    EmailStatus.SENT: "Sent",
    EmailStatus.FAILED: "Not delivered",
}

DELIVERY_STATUS = {
    DeliveryStatus.PENDING: "Being sent",
    DeliveryStatus.DELIVERED: "Delivered",
    DeliveryStatus.FAILED: "Not delivered",
    DeliveryStatus.CANCELLED: "Cancelled",
}

ENDPOINT_STATUS = {
    WebhookEndpointStatus.ENABLED: "On",
    WebhookEndpointStatus.DISABLED: "Off",
}

COVERAGE = COVERAGE_WORDS
WAGE_TYPE = PAY_TYPE_WORDS

ROLE = {Role.ADMIN: "Admin", Role.OPERATOR: "Operator", Role.FINANCE: "Finance", Role.VIEWER: "Viewer"}

# Every status a dashboard page shows, by what it is the status of: the ``words`` filter of the templates.
WORDS: dict[str, dict[str, str]] = {
    "assignment": {str(k): v for k, v in ASSIGNMENT_STATUS.items()},
    "insurance": {str(k): v for k, v in INSURANCE_STATUS.items()},
    "bill": {str(k): v for k, v in BILL_STATUS.items()},
    "policy": {str(k): v for k, v in POLICY_STATUS.items()},
    "invoice": {str(k): v for k, v in INVOICE_STATUS.items()},
    "certificate": {str(k): v for k, v in CERTIFICATE_STATUS.items()},
    "email": {str(k): v for k, v in EMAIL_STATUS.items()},
    "delivery": {str(k): v for k, v in DELIVERY_STATUS.items()},
    "endpoint": {str(k): v for k, v in ENDPOINT_STATUS.items()},
    "role": {str(k): v for k, v in ROLE.items()},
    "coverage": {str(k): v for k, v in COVERAGE.items()},
    "wage": {str(k): v for k, v in WAGE_TYPE.items()},
}


def words(value: object, kind: str) -> str:
    """``value`` (an enum or its string) of a ``kind`` of thing, in staff words; a value with no words yet
    is shown with its underscores as spaces rather than not at all."""
    said = str(value.value if hasattr(value, "value") else value)
    return WORDS[kind].get(said, said.replace("_", " "))


def email_problem(status: object, last_error: str | None) -> str:
    """Why an email to a contractor has not arrived, for staff: a plain reason and what to do, never the mail
    server's own text (which stays in the API's ``last_error``)."""
    if not last_error:
        return ""
    if last_error.startswith("recipient refused"):
        return (
            "We could not deliver this email: the contractor's mail server refused the address. Check the "
            "contractor's email address."
        )
    if str(getattr(status, "value", status)) == EmailStatus.FAILED:
        return (
            "We could not deliver this email: our mail server could not be reached. Ask us to look into it."
        )
    return "We could not deliver this email yet: our mail server could not be reached. We keep trying."


STATES = sorted(US_STATES.items(), key=lambda item: item[1])  # (code, name), by name


def assignment_status(value: str) -> str:
    return ASSIGNMENT_STATUS.get(AssignmentStatus(value), value) if value in set(AssignmentStatus) else value
