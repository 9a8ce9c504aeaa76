"""Certificates of insurance: one per coverage type of a policy."""

from dataclasses import dataclass
from datetime import UTC, datetime

from documents.pdf import DocumentPdf
from domain.coverage import CoverageType
from notifications.render import money

ISSUER = "gigcover Insurance Services"
TITLES = {
    CoverageType.GENERAL: "Certificate of General Liability Insurance",
    CoverageType.WORKERS_COMP: "Certificate of Workers' Compensation Insurance",
    CoverageType.PROFESSIONAL: "Certificate of Professional Liability Insurance",
}
SUFFIX = {CoverageType.GENERAL: "GL", CoverageType.WORKERS_COMP: "WC", CoverageType.PROFESSIONAL: "PL"}
DEFAULT_LIMITS = {"occurrence_limit": 100_000_000, "aggregate_limit": 200_000_000}  # $1M / $2M


@dataclass(frozen=True)
class Party:
    name: str
    address_lines: tuple[str, ...] = ()


@dataclass(frozen=True)
class CertificateOfInsurance:
    certificate_number: str
    policy_id: str
    coverage: CoverageType
    insured: Party
    holder: Party
    effective_date: int
    expiration_date: int
    job_category: str
    description_of_operations: str
    work_state: str
    occurrence_limit: int
    aggregate_limit: int
    issued_at: int
    sandbox: bool

    @property
    def policy_number(self) -> str:
        return f"{self.policy_id}-{SUFFIX[self.coverage]}"


def _day(ts: int) -> str:
    moment = datetime.fromtimestamp(ts, UTC)
    return f"{moment:%B} {moment.day}, {moment.year}"


def _limits(coi: CertificateOfInsurance) -> list[tuple[str, str]]:
    if coi.coverage is CoverageType.WORKERS_COMP:
        return [
            ("Workers' compensation", f"Statutory limits, {coi.work_state}"),
            ("Employer's liability", "$1,000,000 each accident"),
            ("", "$1,000,000 disease, each employee"),
            ("", "$1,000,000 disease, policy limit"),
        ]
    return [
        ("Each occurrence", money(coi.occurrence_limit)),
        ("General aggregate", money(coi.aggregate_limit)),
    ]


def add_certificate_page(pdf: DocumentPdf, coi: CertificateOfInsurance) -> None:
    pdf.add_page()
    pdf.fields(
        [
            ("Certificate number", coi.certificate_number),
            ("Date issued", _day(coi.issued_at)),
            ("Issuer", ISSUER),
        ]
    )
    pdf.section("Insured")
    pdf.fields([("Name", coi.insured.name), *[("", line) for line in coi.insured.address_lines]])
    pdf.section("Certificate holder")
    pdf.fields([("Name", coi.holder.name), *[("", line) for line in coi.holder.address_lines]])
    pdf.section("Coverage")
    pdf.fields(
        [
            ("Type", TITLES[coi.coverage].removeprefix("Certificate of ")),
            ("Policy number", coi.policy_number),
            ("Effective date", _day(coi.effective_date)),
            ("Expiration date", _day(coi.expiration_date)),
            *_limits(coi),
        ]
    )
    pdf.section("Description of operations")
    pdf.fields(
        [
            ("Job category", coi.job_category),
            ("Work state", coi.work_state),
            ("Operations", coi.description_of_operations),
        ]
    )
    pdf.ln(8)
    pdf.paragraph(
        "This certificate is issued as a matter of information only and confers no rights upon the "
        "certificate holder. It does not amend, extend or alter the coverage afforded by the policy "
        "described above."
    )


def render_certificates(certificates: list[CertificateOfInsurance]) -> bytes:
    """One page per certificate; the title names the first one's coverage (or the policy for several)."""
    title = TITLES[certificates[0].coverage] if len(certificates) == 1 else "Certificates of Insurance"
    watermark = "SANDBOX · SPECIMEN, NOT PROOF OF COVERAGE" if certificates[0].sandbox else None
    pdf = DocumentPdf(title, watermark)
    for coi in certificates:
        add_certificate_page(pdf, coi)
    return pdf.to_bytes()
