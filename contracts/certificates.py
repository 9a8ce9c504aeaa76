"""What the certificate review workflow (workflows/certificate_review.py) and its callers agree on."""

from pydantic import BaseModel

from contracts.calls import SignalName
from domain.certificates import CertificateStatus

CERTIFICATE_REVIEW_WORKFLOW = "CertificateReviewWorkflow"
RENEWAL_REMINDER_DAYS = (30, 7)  # the contractor is asked for a renewed certificate this many days before


def certificate_workflow_id(certificate_id: str) -> str:
    """One review per certificate: starting it again (the same file uploaded twice) finds the same one."""
    return f"certificate-{certificate_id}"


class CertificateReviewRequest(BaseModel):
    certificate_id: str


class ReviewOutcome(BaseModel):
    """What reading and checking one certificate concluded (its rule results are stored with it)."""

    status: CertificateStatus
    coverage_ends: int | None = None  # unix seconds: when the first required policy expires
    error: str | None = None


class RenewalStep(BaseModel):
    certificate_id: str
    days_left: int  # 30, 7: the reminder; 0: the coverage lapsed


# A newer certificate for the same contractor replaced this one: its reminders stop.
SUPERSEDED = SignalName[str]("certificate_superseded")
