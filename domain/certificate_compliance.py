"""A contractor's compliance with their platform's insurance requirements, as their current certificate
shows it, in words for compliance staff: "Compliant until June 1, 2027", "Flagged for review", "Denied",
"Lapsed on …", "No certificate". Pure: the caller passes the certificate's facts and the time."""

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from domain.certificates import CertificateStatus


def _day(ts: int) -> str:
    moment = datetime.fromtimestamp(ts, UTC)
    return f"{moment:%B} {moment.day}, {moment.year}"


class Compliance(StrEnum):
    COMPLIANT = "compliant"
    REVIEWING = "reviewing"  # uploaded, being read and checked
    FLAGGED = "flagged"  # a reviewer decides
    DENIED = "denied"
    UNREADABLE = "unreadable"  # the file could not be read
    LAPSED = "lapsed"
    NONE = "none"


@dataclass(frozen=True)
class ComplianceStatus:
    kind: Compliance
    words: str


def compliance(
    status: CertificateStatus | None, coverage_ends: int | None, lapsed_at: int | None, now: int
) -> ComplianceStatus:
    """What the contractor's current certificate (the newest one no upload replaced; None: they have none)
    says of their compliance at ``now`` (unix seconds)."""
    if status is None:
        return ComplianceStatus(Compliance.NONE, "No certificate")
    if status in (CertificateStatus.PENDING, CertificateStatus.PROCESSING):
        return ComplianceStatus(Compliance.REVIEWING, "Certificate being reviewed")
    if status is CertificateStatus.FLAGGED:
        return ComplianceStatus(Compliance.FLAGGED, "Flagged for review")
    if status is CertificateStatus.DENIED:
        return ComplianceStatus(Compliance.DENIED, "Denied")
    if status is CertificateStatus.ERROR:
        return ComplianceStatus(Compliance.UNREADABLE, "Certificate could not be read")
    ended = lapsed_at if lapsed_at is not None else coverage_ends
    if ended is not None and ended <= now:
        return ComplianceStatus(Compliance.LAPSED, f"Lapsed on {_day(ended)}")
    if coverage_ends is None:
        return ComplianceStatus(Compliance.COMPLIANT, "Compliant")
    return ComplianceStatus(Compliance.COMPLIANT, f"Compliant until {_day(coverage_ends)}")
