"""Issuing documents: render, store, record, and return the unguessable URL they are served at."""

import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from common.ids import new_document_token
from common.settings import Settings
from db.models import (
    Bill,
    Contractor,
    Document,
    Entity,
    Job,
    JobCategory,
    Organization,
    Policy,
    Quote,
    Scope,
)
from documents.bill import LineItem, PremiumBill, due_date_for, render_bill
from documents.certificate import DEFAULT_LIMITS, SUFFIX, CertificateOfInsurance, Party, render_certificates
from documents.storage import DocumentStore, LocalFolderStore
from domain.bill_lines import PoContactFrom
from domain.coverage import CoverageType
from domain.statuses import BillStatus

CERTIFICATE_FIELDS = {
    CoverageType.GENERAL: "gl_coi_pdf_url",
    CoverageType.WORKERS_COMP: "wc_coi_pdf_url",
    CoverageType.PROFESSIONAL: "pl_coi_pdf_url",
}


def po_contact_from(job_metadata: dict[str, Any]) -> PoContactFrom:
    """Whose contact a bill's PO contact is: the job's (its metadata names one) or, when it names none, the
    organization's billing contact (the bill page says so)."""
    named = job_metadata.get("po_contact_name") or job_metadata.get("po_contact_email")
    return PoContactFrom.JOB if named else PoContactFrom.ORGANIZATION


def document_store(settings: Settings) -> DocumentStore:
    return LocalFolderStore(settings.data_dir / "documents")


def document_url(settings: Settings, document: Document) -> str:
    return f"{settings.public_base_url.rstrip('/')}/files/{document.token}/{document.filename}"


def save_pdf(
    session: Session,
    store: DocumentStore,
    settings: Settings,
    organization_id: str,
    environment: str,
    kind: str,
    filename: str,
    data: bytes,
) -> str:
    document = Document.new(
        Scope(organization_id, environment),
        kind=kind,
        token=new_document_token(),
        filename=filename,
        content_type="application/pdf",
        size=len(data),
        storage_key="",
    )
    document.storage_key = f"{organization_id}/{document.id}.pdf"
    store.put(document.storage_key, data)
    session.add(document)
    return document_url(settings, document)


def _address_lines(address: dict[str, object] | None) -> tuple[str, ...]:
    if not address:
        return ()
    street = ", ".join(str(address[k]) for k in ("line1", "line2") if address.get(k))
    place = " ".join(
        str(p)
        for p in (
            f"{address.get('locality')}," if address.get("locality") else None,
            address.get("region"),
            address.get("postalcode"),
        )
        if p
    )
    return tuple(line for line in (street, place) if line)


def issue_policy_certificates(
    session: Session, store: DocumentStore, settings: Settings, policy: Policy
) -> None:
    """A certificate per coverage type (``certificates.<gl|wc|pl>_coi_pdf_url``), and all of them together
    as the policy's ``pdf_url``. Does nothing when the policy already has them (safe to retry)."""
    if policy.pdf_url:
        return
    quote = session.scalar(select(Quote).where(Quote.id == policy.quote_id))
    contractor = session.scalar(select(Contractor).where(Contractor.id == policy.contractor_id))
    job = session.scalar(select(Job).where(Job.id == policy.job_id))
    assert quote and contractor and job, f"policy {policy.id} lost its quote, contractor or job"
    entity = session.scalar(select(Entity).where(Entity.id == job.entity_id))
    category = session.get(JobCategory, job.category_id)
    limits = {**DEFAULT_LIMITS, **((entity.coverage_limit if entity else None) or {})}
    insured_name = " ".join(
        p for p in (contractor.first_name, contractor.middle_name, contractor.last_name) if p
    )
    if contractor.company_name:
        insured_name += f" ({contractor.company_name})"
    holder = Party(entity.name, _address_lines(entity.address)) if entity else Party("To whom it may concern")
    now = int(time.time())
    certificates = [
        CertificateOfInsurance(
            certificate_number=f"{policy.id}-{SUFFIX[coverage]}-{now}",
            policy_id=policy.id,
            coverage=coverage,
            insured=Party(insured_name, _address_lines(contractor.address)),
            holder=holder,
            effective_date=policy.effective_date,
            expiration_date=policy.expiration_date,
            job_category=category.name if category else job.category_id,
            description_of_operations=f"{job.name}: {job.description}",
            work_state=quote.work_state,
            occurrence_limit=int(limits["occurrence_limit"]),
            aggregate_limit=int(limits["aggregate_limit"]),
            issued_at=now,
            sandbox=policy.environment == "sandbox",
        )
        for coverage in (CoverageType(c) for c in quote.coverage_type)
    ]

    def save(filename: str, pdf: bytes) -> str:
        return save_pdf(
            session, store, settings, policy.organization_id, policy.environment, "certificate", filename, pdf
        )

    policy.certificates = {
        CERTIFICATE_FIELDS[coi.coverage]: save(
            f"certificate-{coi.policy_number}.pdf", render_certificates([coi])
        )
        for coi in certificates
    }
    if len(certificates) == 1:  # all of them together is that one certificate: the same document
        policy.pdf_url = next(iter(policy.certificates.values()))
    else:
        policy.pdf_url = save(f"certificates-{policy.id}.pdf", render_certificates(certificates))


def issue_bill(
    session: Session,
    store: DocumentStore,
    settings: Settings,
    *,
    organization_id: str,
    environment: str,
    contractor_id: str,
    line_items: list[LineItem],
    job_id: str | None = None,
    policy_id: str | None = None,
    assignment_id: str | None = None,
    bill_id: str | None = None,
    bill_date: int | None = None,
    purchase_order_number: str | None = None,
) -> Bill:
    """A premium bill to the organization, due in 30 days, as a row and a PDF. A given ``bill_id`` makes
    this idempotent (an activity retried after a crash finds the bill it already issued)."""
    if bill_id is not None:
        existing = session.scalar(select(Bill).where(Bill.id == bill_id))
        if existing is not None:
            return existing
    organization = session.get(Organization, organization_id)
    assert organization is not None
    job = session.scalar(select(Job).where(Job.id == job_id)) if job_id else None
    metadata = (job.custom_metadata if job else None) or {}
    bill_date = bill_date or int(time.time())
    bill = Bill.new(
        Scope(organization_id, environment),
        id=bill_id,
        contractor_id=contractor_id,
        job_id=job_id,
        policy_id=policy_id,
        assignment_id=assignment_id,
        amount_due=sum(i.amount for i in line_items),
        bill_date=bill_date,
        due_date=due_date_for(bill_date),
        purchase_order_number=purchase_order_number or metadata.get("purchase_order_number") or None,
        po_contact_name=metadata.get("po_contact_name") or organization.billing_contact_name,
        po_contact_email=metadata.get("po_contact_email") or organization.billing_contact_email,
        po_contact_from=po_contact_from(metadata),
        line_items=[i.stored() for i in line_items],
        status=BillStatus.OPEN,
    )
    bill_to = Party(
        organization.name,
        tuple(
            line
            for line in (
                f"Attn: {organization.billing_contact_name}" if organization.billing_contact_name else None,
                *_address_lines(organization.billing_address),
            )
            if line
        ),
    )
    pdf = render_bill(
        PremiumBill(
            bill_number=bill.id,
            bill_to=bill_to,
            bill_date=bill.bill_date,
            due_date=bill.due_date,
            line_items=tuple(line_items),
            purchase_order_number=bill.purchase_order_number,
            po_contact_name=bill.po_contact_name,
            po_contact_email=bill.po_contact_email,
            sandbox=environment == "sandbox",
        )
    )
    bill.pdf_url = save_pdf(
        session, store, settings, organization_id, environment, "bill", f"bill-{bill.id}.pdf", pdf
    )
    session.add(bill)
    return bill
