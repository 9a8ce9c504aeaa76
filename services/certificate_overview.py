"""What the dashboard shows of certificates: the review queue (flagged first, then oldest first), one
certificate (the fields read, each rule's result, its decision history, its PDF) and a contractor's
certificates with their compliance in words. Reads only; every query is scoped to the tenant and bounded."""

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from sqlalchemy import case, select
from sqlalchemy.orm import Session

from db.models import AuditEntry, Certificate, Contractor, Document
from documents.storage import DocumentStore
from domain.certificate_compliance import ComplianceStatus, compliance
from domain.certificates import CertificateStatus, ParsedCertificate, Read, RuleResult
from domain.errors import not_found
from services.certificate_decisions import DECIDABLE, DECISIONS, DENIABLE, rule_results
from services.certificate_records import parsed_from_json
from services.certificates import get_certificate
from services.lookups import get_contractor, get_owned, scoped
from services.tenancy import Tenant

T = TypeVar("T")
PER_PAGE = 50
MAX_PAGE = 200  # the queue's pages go this deep (10,000 certificates); filters narrow beyond
SHOWN = 50  # a contractor's certificates shown, newest first
LOW_CONFIDENCE = 0.8  # below this, a value read by OCR is marked for the reviewer to check on the PDF


@dataclass(frozen=True)
class QueueRow:
    certificate: Certificate
    contractor_name: str
    failed: int  # failed rules no reviewer approved yet


@dataclass(frozen=True)
class Queue:
    rows: list[QueueRow]
    page: int
    more: bool


def _open_failures(row: Certificate) -> int:
    return sum(not r.satisfied for r in rule_results(row))


def review_queue(session: Session, tenant: Tenant, status: CertificateStatus | None, page: int) -> Queue:
    """Certificates no newer upload replaced: flagged ones first, then oldest first; ``page`` from 1."""
    page = min(max(page, 1), MAX_PAGE)
    query = scoped(Certificate, tenant).where(Certificate.superseded_by.is_(None))
    if status is not None:
        query = query.where(Certificate.status == status)
    flagged_first = case((Certificate.status == CertificateStatus.FLAGGED, 0), else_=1)
    query = query.order_by(flagged_first, Certificate.created, Certificate.seq)
    found = list(session.scalars(query.offset((page - 1) * PER_PAGE).limit(PER_PAGE + 1)))
    shown = found[:PER_PAGE]
    ids = {c.contractor_id for c in shown}
    query_names = scoped(Contractor, tenant).where(Contractor.id.in_(ids))
    contractors: Sequence[Contractor] = list(session.scalars(query_names)) if ids else []
    names = {c.id: c.full_name for c in contractors}
    rows = [QueueRow(c, names.get(c.contractor_id, c.contractor_id), _open_failures(c)) for c in shown]
    return Queue(rows, page, len(found) > PER_PAGE)


@dataclass(frozen=True)
class FieldRead:
    """One value read off the certificate, as a reviewer checks it against the PDF."""

    label: str
    value: str  # "not found" where it could not be read
    found: bool
    confidence: float
    where: str

    @property
    def unsure(self) -> bool:
        return self.found and self.confidence < LOW_CONFIDENCE


def _words(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"${value:,}"
    if isinstance(value, date):
        return f"{value:%B} {value.day}, {value.year}"
    return str(value)


def _field(label: str, read: Read[T]) -> FieldRead:
    value = _words(read.value) if read.found else "not found"
    return FieldRead(label, value, read.found, read.confidence, read.where)


def fields_read(parsed: ParsedCertificate) -> list[FieldRead]:
    """Every field the reader looked for, in the order of an ACORD 25."""
    rows = [
        _field("Date issued", parsed.issued),
        _field("Producer", parsed.producer.name),
        _field("Insured", parsed.insured.name),
        _field("Insured's address", parsed.insured.address),
    ]
    for insurer in parsed.insurers:
        rows += [
            _field(f"Insurer {insurer.letter}", insurer.name),
            _field(f"Insurer {insurer.letter}: NAIC number", insurer.naic),
        ]
    for policy in parsed.policies:
        kind = policy.coverage.value.replace("_", " ").capitalize()
        rows += [
            _field(f"{kind}: insurer", policy.insurer_letter),
            _field(f"{kind}: policy number", policy.policy_number),
            _field(f"{kind}: effective", policy.effective),
            _field(f"{kind}: expires", policy.expires),
        ]
        for limit, read in policy.limits.items():
            rows.append(_field(f"{kind}: {limit.value.replace('_', ' ')}", read))
        rows += [
            _field(f"{kind}: additional insured", policy.additional_insured),
            _field(f"{kind}: waiver of subrogation", policy.waiver_of_subrogation),
        ]
    rows += [
        _field("Certificate holder", parsed.certificate_holder.name),
        _field("Description of operations", parsed.description),
    ]
    return rows


@dataclass(frozen=True)
class HistoryItem:
    at: int
    who: str
    what: str
    reason: str = ""


def _history(session: Session, tenant: Tenant, row: Certificate) -> list[HistoryItem]:
    uploader = "through the API" if row.source == "api" else "by the contractor"
    items = [HistoryItem(row.created, uploader, "Uploaded")]
    if row.processed_at is not None:
        items.append(HistoryItem(row.processed_at, "automatic review", "Reviewed against the requirements"))
    entries = session.scalars(
        select(AuditEntry)
        .where(
            AuditEntry.organization_id == tenant.organization_id,
            AuditEntry.environment == tenant.environment,
            AuditEntry.action.in_(DECISIONS),
            AuditEntry.target == row.id,
        )
        .order_by(AuditEntry.id)
        .limit(200)
    )
    for entry in entries:
        after = entry.detail.get("after") or {}
        what = {
            "certificate.rule_approved": f"Approved the failed rule “{entry.detail.get('rule', '')}”",
            "certificate.approved": "Approved the certificate",
            "certificate.denied": "Denied the certificate",
        }.get(entry.action, entry.action)
        items.append(HistoryItem(entry.at, entry.actor, what, str(after.get("reason") or "")))
    if row.lapsed_at is not None:
        items.append(HistoryItem(row.lapsed_at, "automatic", "Coverage lapsed"))
    return sorted(items, key=lambda i: i.at)


@dataclass(frozen=True)
class CertificateView:
    certificate: Certificate
    contractor: Contractor
    contractor_name: str
    parsed: ParsedCertificate | None
    fields: list[FieldRead]
    results: list[RuleResult]
    history: list[HistoryItem]
    open_failures: int

    @property
    def may_decide(self) -> bool:
        """Rules may be approved and the certificate approved (once none is left failing)."""
        c = self.certificate
        return c.status in DECIDABLE and not c.superseded_by and c.lapsed_at is None

    @property
    def may_deny(self) -> bool:
        c = self.certificate
        return c.status in DENIABLE and not c.superseded_by and c.lapsed_at is None


def certificate_view(session: Session, tenant: Tenant, certificate_id: str) -> CertificateView:
    """Another organization's (or environment's) certificate is not found, as in the API."""
    row = get_certificate(session, tenant, certificate_id)
    contractor = get_contractor(session, tenant, row.contractor_id)
    parsed = parsed_from_json(row.parsed) if row.parsed else None
    results = rule_results(row)
    return CertificateView(
        certificate=row,
        contractor=contractor,
        contractor_name=contractor.full_name,
        parsed=parsed,
        fields=fields_read(parsed) if parsed else [],
        results=sorted(results, key=lambda r: (r.passed, r.waiver is not None)),  # failing first
        history=_history(session, tenant, row),
        open_failures=sum(not r.satisfied for r in results),
    )


def certificate_pdf(session: Session, store: DocumentStore, tenant: Tenant, certificate_id: str) -> bytes:
    """The certificate's PDF, for the member's own organization and environment only."""
    row = get_certificate(session, tenant, certificate_id)
    document = get_owned(session, Document, tenant, row.document_id, "resource_not_found", "certificate")
    if document.erased_at is not None:
        raise not_found("resource_not_found", "certificate", certificate_id)
    return store.get(document.storage_key)


def _current(certificate: Certificate | None, now: int) -> ComplianceStatus:
    if certificate is None:
        return compliance(None, None, None, now)
    return compliance(certificate.status, certificate.coverage_ends, certificate.lapsed_at, now)


def compliance_of(
    session: Session, tenant: Tenant, contractor_ids: Sequence[str]
) -> dict[str, ComplianceStatus]:
    """The compliance of each of ``contractor_ids`` (one page of a list) that brought a certificate, from
    their newest one no upload replaced, in one indexed query."""
    if not contractor_ids:
        return {}
    query = scoped(Certificate, tenant).where(
        Certificate.contractor_id.in_(list(contractor_ids)), Certificate.superseded_by.is_(None)
    )
    newest: dict[str, Certificate] = {}
    for row in session.scalars(query.order_by(Certificate.seq)):
        newest[row.contractor_id] = row  # later rows are newer
    now = int(time.time())
    return {contractor: _current(row, now) for contractor, row in newest.items()}


@dataclass(frozen=True)
class ContractorCertificates:
    compliance: ComplianceStatus
    certificates: Sequence[Certificate]  # newest first
    failed: dict[str, int]  # certificate id → failed rules no reviewer approved


def contractor_certificates(session: Session, tenant: Tenant, contractor_id: str) -> ContractorCertificates:
    """A contractor's certificates (the newest ``SHOWN``) and what their current one (the newest no
    upload replaced) says of their compliance now."""
    query = scoped(Certificate, tenant).where(Certificate.contractor_id == contractor_id)
    rows = list(session.scalars(query.order_by(Certificate.seq.desc()).limit(SHOWN)))
    current = next((c for c in rows if not c.superseded_by), None)
    return ContractorCertificates(
        _current(current, int(time.time())), rows, {c.id: _open_failures(c) for c in rows}
    )
