"""Certificates of insurance that contractors bring: the upload (checked as 1099Policy checks it), the reads,
and the steps of a certificate's review workflow (read, evaluate and publish, ask for the renewal, record
the lapse). Each step is safe to run again: an activity retried after a crash changes nothing twice."""

import hashlib
import re
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from common.ids import new_document_token
from common.settings import Settings
from contracts.certificates import ReviewOutcome
from db.models import Assignment, Certificate, Contractor, Document, InsuranceRequirement, Job, JobCategory
from documents.issuing import document_url
from documents.storage import DocumentStore
from domain.certificate_review import outcome, review
from domain.certificates import (
    CertificateStatus,
    ParsedCertificate,
    RequirementRules,
    ReviewContext,
)
from domain.errors import DomainError, Refusal, invalid, not_found
from integrations.naic import naic_directory
from outbox.records import record_event, start_after_commit
from services import audit
from services.audit import Actor
from services.certificate_records import certificate_json, parsed_from_json, parsed_to_json, results_to_json
from services.insurance_requirements import requirement_for, rules_of
from services.lookups import Page, filtered, get_assignment, get_owned, list_page, scoped
from services.tenancy import Tenant

MAX_CERTIFICATE_BYTES = 15 * 1024 * 1024  # 1099Policy's limit
TOO_LARGE = "The certificate must be 15 MB or smaller"
PDF_TYPES = frozenset({"application/pdf", "application/x-pdf"})
# What a client sends when it does not say (the official client sends every file as octet-stream): the
# file's own bytes (its %PDF magic) decide then.
UNSPECIFIED_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream"})
DOCUMENT_KIND = "certificate_upload"
SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
FINISHED = frozenset(
    {CertificateStatus.APPROVED, CertificateStatus.FLAGGED, CertificateStatus.DENIED, CertificateStatus.ERROR}
)
DAY = 86_400
OUTCOME_EVENTS = {
    CertificateStatus.APPROVED: "certificate.approved",
    CertificateStatus.FLAGGED: "certificate.flagged",
}


@dataclass(frozen=True)
class UploadedFile:
    filename: str
    content_type: str  # as the client declared it ("" when it did not)
    data: bytes


# The upload -----------------------------------------------------------------------------------------------


def check_file(file: UploadedFile | None) -> UploadedFile:
    """1099Policy's checks, in its order: a file, named .pdf, declared a PDF, 15 MB at most, a PDF inside."""
    if file is None or not file.data:
        raise DomainError("missing_certificate", "Attach the certificate as a PDF file", "certificate")
    if not file.filename.lower().endswith(".pdf"):
        raise DomainError("invalid_file_type", "The certificate must be a PDF file (.pdf)", "certificate")
    declared = file.content_type.split(";", 1)[0].strip().lower()
    if declared not in PDF_TYPES and declared not in UNSPECIFIED_TYPES:
        raise DomainError(
            "invalid_mime_type",
            f"The certificate must be sent as application/pdf, not {declared}",
            "certificate",
        )
    if len(file.data) > MAX_CERTIFICATE_BYTES:
        raise DomainError("invalid_file_size", TOO_LARGE, "certificate")
    if not file.data[:1024].lstrip().startswith(b"%PDF"):
        raise DomainError(
            "invalid_file_type", "The file is not a PDF (it does not start with %PDF)", "certificate"
        )
    return file


def safe_filename(name: str) -> str:
    base = name.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    cleaned = SAFE_NAME.sub("-", base).strip("-.")[:150] or "certificate"
    return cleaned if cleaned.lower().endswith(".pdf") else f"{cleaned}.pdf"


def _requirement(
    session: Session, tenant: Tenant, requirement_id: str | None, assignment: Assignment | None
) -> InsuranceRequirement:
    entity_id = category_code = None
    if assignment is not None:
        job = session.scalar(select(Job).where(Job.id == assignment.job_id))
        if job is not None:
            entity_id = job.entity_id
            category = session.get(JobCategory, job.category_id)
            category_code = category.code if category else None
    return requirement_for(
        session, tenant, requirement_id=requirement_id, entity_id=entity_id, category_code=category_code
    )


def upload(
    session: Session,
    store: DocumentStore,
    tenant: Tenant,
    contractor_id: str | None,
    file: UploadedFile | None,
    *,
    requirement_id: str | None = None,
    assignment_id: str | None = None,
    source: str = "api",
    actor: Actor | None = None,
) -> Certificate:
    """Keep the certificate and have its review start once committed (through the outbox: a process that
    dies after the commit leaves it to the sweep). Every refusal comes before anything is written. The same
    file for the same contractor is the same certificate: it is answered again, reviewed once. A new one
    supersedes the contractor's earlier certificates (their reminders stop)."""
    if not contractor_id:
        raise DomainError("missing_contractor_id", "Send the contractor's id as 'contractor'", "contractor")
    checked = check_file(file)
    contractor = session.scalar(scoped(Contractor, tenant).where(Contractor.id == contractor_id))
    if contractor is None:
        raise not_found("resource_not_found", "contractor", contractor_id)
    assignment = get_assignment(session, tenant, assignment_id) if assignment_id else None
    if assignment is not None and assignment.contractor_id != contractor.id:
        raise invalid("This assignment is not the contractor's", "assignment")
    requirement = _requirement(session, tenant, requirement_id, assignment)
    digest = hashlib.sha256(checked.data).hexdigest()
    same = _same_file(session, tenant, contractor.id, digest)
    if same is not None:
        return same
    name = safe_filename(checked.filename)
    document = Document.new(
        tenant,
        kind=DOCUMENT_KIND,
        token=new_document_token(),
        filename=name,
        content_type="application/pdf",
        size=len(checked.data),
        storage_key="",
    )
    document.storage_key = f"{tenant.organization_id}/certificates/{document.id}.pdf"
    row = Certificate.new(
        tenant,
        contractor_id=contractor.id,
        status=CertificateStatus.PENDING,
        filename=name,
        document_id=document.id,
        sha256=digest,
        size=len(checked.data),
        source=source,
        requirement_id=requirement.id,
        assignment_id=assignment.id if assignment else None,
        dispatched=False,
    )
    store.put(document.storage_key, checked.data)
    session.add_all([document, row])
    session.execute(
        update(Certificate)
        .where(
            Certificate.organization_id == tenant.organization_id,
            Certificate.environment == tenant.environment,
            Certificate.contractor_id == contractor.id,
            Certificate.id != row.id,
            Certificate.superseded_by.is_(None),
        )
        .values(superseded_by=row.id)
    )
    audit.record_change(session, tenant, actor, "certificate.uploaded", row.id, filename=name, sha256=digest)
    start_after_commit(session, ("certificate", row.id))
    try:
        session.commit()
    except IntegrityError:  # the same file, uploaded at the same moment by another request
        session.rollback()
        store.delete(document.storage_key)
        same = _same_file(session, tenant, contractor.id, digest)
        if same is None:
            raise
        return same
    return row


def _same_file(session: Session, tenant: Tenant, contractor_id: str, digest: str) -> Certificate | None:
    return session.scalar(
        scoped(Certificate, tenant).where(
            Certificate.contractor_id == contractor_id, Certificate.sha256 == digest
        )
    )


# Reads ----------------------------------------------------------------------------------------------------


def get_certificate(session: Session, tenant: Tenant, certificate_id: str) -> Certificate:
    return get_owned(session, Certificate, tenant, certificate_id, "resource_not_found", "certificate")


def list_certificates(
    session: Session, tenant: Tenant, page: Page, contractor: str | None = None, status: str | None = None
) -> Sequence[Certificate]:
    if status is not None and status not in set(CertificateStatus):
        raise invalid(f"status must be one of {', '.join(CertificateStatus)}", "status")
    query = filtered(
        scoped(Certificate, tenant), {Certificate.contractor_id: contractor, Certificate.status: status}
    )
    return list_page(session, query, Certificate, page)


def document_of(session: Session, row: Certificate) -> Document:
    document = session.scalar(select(Document).where(Document.id == row.document_id))
    assert document is not None, f"certificate {row.id} lost its document"
    return document


def pdf_url(session: Session, settings: Settings, row: Certificate) -> str:
    return document_url(settings, document_of(session, row))


def present(
    session: Session, settings: Settings, row: Certificate, expand: Collection[str] = ()
) -> dict[str, Any]:
    """The API's certificate object (see services/certificate_records.py)."""
    return certificate_json(row, pdf_url(session, settings, row), expand)


# The review (the workflow's activities) ---------------------------------------------------------------


def row_by_id(session: Session, certificate_id: str) -> Certificate:
    row = session.scalar(select(Certificate).where(Certificate.id == certificate_id))
    if row is None:
        raise DomainError("resource_not_found", f"No certificate {certificate_id}", kind=Refusal.NOT_FOUND)
    return row


def begin_reading(session: Session, store: DocumentStore, certificate_id: str) -> bytes | None:
    """Marks the certificate processing and returns its PDF; None when it needs no reading (read already)."""
    row = row_by_id(session, certificate_id)
    if row.status in FINISHED or row.parsed is not None or row.error is not None:
        return None
    row.status = CertificateStatus.PROCESSING
    data = store.get(document_of(session, row).storage_key)
    session.commit()
    return data


def record_reading(
    session: Session, certificate_id: str, parsed: ParsedCertificate | None, unreadable: str | None
) -> None:
    """What the reader found, or why it could not read the file; evaluated by ``evaluate``."""
    row = row_by_id(session, certificate_id)
    if row.status in FINISHED:
        return
    row.parsed = parsed_to_json(parsed) if parsed is not None else None
    row.error = unreadable[:2000] if unreadable is not None else None
    session.commit()


def _day_start(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


def _utc_day(moment: int) -> date:
    return datetime.fromtimestamp(moment, UTC).date()


def coverage_end(parsed: ParsedCertificate, rules: RequirementRules) -> int | None:
    """When the first policy the requirement asks for expires (any policy, when it names none)."""
    required = {c.coverage for c in rules.coverages}
    ends = [
        p.expires.value
        for p in parsed.policies
        if p.expires.value is not None and (not required or p.coverage in required)
    ]
    return _day_start(min(ends)) if ends else None


def requirement_rules(session: Session, row: Certificate) -> RequirementRules:
    """The rules of the requirement chosen at upload (none left: nothing required but the forgery signs)."""
    requirement = (
        session.scalar(select(InsuranceRequirement).where(InsuranceRequirement.id == row.requirement_id))
        if row.requirement_id
        else None
    )
    return rules_of(requirement) if requirement is not None else RequirementRules()


def _outcome(row: Certificate) -> ReviewOutcome:
    return ReviewOutcome(status=row.status, coverage_ends=row.coverage_ends, error=row.error)


def _publish(session: Session, settings: Settings, row: Certificate, event_type: str) -> None:
    record_event(
        session,
        row.organization_id,
        row.environment,
        event_type,
        present(session, settings, row, ["review_results"]),
    )


def evaluate(
    session: Session, settings: Settings, certificate_id: str, today: date | None = None
) -> ReviewOutcome:
    """Checks what was read against the certificate's requirement and publishes the outcome: the status and
    its event in one transaction. Run again, it answers the stored outcome."""
    row = row_by_id(session, certificate_id)
    if row.status in FINISHED:
        return _outcome(row)
    now = int(time.time())
    if row.parsed is None:
        row.status = CertificateStatus.ERROR
        row.error = row.error or "the certificate could not be read"
        row.processed_at = now
        _publish(session, settings, row, "certificate.error")
        session.commit()
        return _outcome(row)
    parsed = parsed_from_json(row.parsed)
    rules = requirement_rules(session, row)
    assignment = (
        session.scalar(select(Assignment).where(Assignment.id == row.assignment_id))
        if row.assignment_id
        else None
    )
    context = ReviewContext(
        today=today or _utc_day(now), assignment_ends=_utc_day(assignment.end_date) if assignment else None
    )
    results = review(parsed, rules, context, naic_directory())
    row.review = results_to_json(results)
    row.status = outcome(results)
    row.coverage_ends = coverage_end(parsed, rules)
    row.processed_at = now
    _publish(session, settings, row, OUTCOME_EVENTS[row.status])
    session.commit()
    return _outcome(row)


def renewal_open(row: Certificate) -> bool:
    """Whether the certificate still gets reminders and a lapse: not superseded, denied or lapsed."""
    return row.superseded_by is None and row.status != CertificateStatus.DENIED and row.lapsed_at is None


def renewal_email_id(certificate_id: str, days_left: int) -> str:
    return f"em_renew{days_left}_{certificate_id.removeprefix('ci_')}"


def record_lapse(session: Session, settings: Settings, certificate_id: str) -> bool:
    """The certificate's coverage ended with no newer certificate: ``certificate.lapsed``, once."""
    row = row_by_id(session, certificate_id)
    if not renewal_open(row):
        return False
    row.lapsed_at = int(time.time())
    _publish(session, settings, row, "certificate.lapsed")
    session.commit()
    return True
