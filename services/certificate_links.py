"""Links a contractor gets by email to upload their own certificate of insurance (``/certificates/<token>``),
so the platform need not relay PDFs. The token is random (256 bits) and exists only in the email and the
contractor's browser: we keep its SHA-256. A link works for one contractor of one organization's
environment, until it expires, for a few uploads at most; the contractor's id opens nothing."""

import secrets
import time
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from common.settings import Settings
from common.tokens import token_digest
from db.engine import rows_changed
from db.models import Certificate, CertificateLink, Contractor, EmailMessage, Organization
from documents.storage import DocumentStore
from domain.errors import DomainError, Refusal, conflict
from notifications.catalog import CertificateRenewal, CertificateRequest, EmailKind
from outbox.records import enqueue_email
from services import audit, certificates
from services.audit import Actor
from services.certificates import UploadedFile
from services.lookups import get_contractor
from services.tenancy import Tenant

UPLOADS_PER_LINK = 5  # a contractor who sends a corrected file or two; not a way to upload in bulk


class LinkState(StrEnum):
    OPEN = "open"
    USED_UP = "used_up"  # it took its uploads already
    EXPIRED = "expired"
    UNKNOWN = "unknown"


def issue(session: Session, settings: Settings, tenant: Tenant, contractor_id: str) -> tuple[str, int]:
    """A new upload link for the contractor (added to the session; the caller commits): its URL, the only
    place its token exists, and when it expires."""
    token = secrets.token_urlsafe(32)
    now = int(time.time())
    expires_at = now + settings.certificate_link_lifetime_seconds
    session.add(
        CertificateLink(
            token_hash=token_digest(token),
            organization_id=tenant.organization_id,
            environment=tenant.environment,
            contractor_id=contractor_id,
            created=now,
            expires_at=expires_at,
            uploads=0,
        )
    )
    return f"{settings.public_base_url.rstrip('/')}/certificates/{token}", expires_at


@dataclass(frozen=True)
class RequestSent:
    contractor_id: str
    email_id: str
    expires_at: int


def request_certificate(
    session: Session, settings: Settings, tenant: Tenant, contractor_id: str, actor: Actor | None = None
) -> RequestSent:
    """Emails the contractor a link to upload their certificate (the API's certificate_requests and the
    dashboard's button); committed."""
    contractor = get_contractor(session, tenant, contractor_id)
    url, expires_at = issue(session, settings, tenant, contractor.id)
    message = enqueue_email(
        session,
        tenant.organization_id,
        tenant.environment,
        EmailKind.CERTIFICATE_REQUEST,
        contractor.email,
        CertificateRequest(
            organization_name=tenant.organization.name,
            contractor_name=contractor.full_name,
            url=url,
            expires_at=expires_at,
        ),
        related={"contractor": contractor.id},
    )
    audit.record_change(session, tenant, actor, "certificate.requested", contractor.id)
    session.commit()
    return RequestSent(contractor.id, message.id, expires_at)


def request_renewal(session: Session, settings: Settings, certificate_id: str, days_left: int) -> bool:
    """Emails the contractor a link to upload their renewed certificate, ``days_left`` days before its
    coverage ends; once per reminder, committed. False when there is nothing to renew: the certificate was
    superseded, denied or has lapsed."""
    row = certificates.row_by_id(session, certificate_id)
    if not certificates.renewal_open(row):
        return False
    email_id = certificates.renewal_email_id(row.id, days_left)
    if session.scalar(select(EmailMessage.id).where(EmailMessage.id == email_id)) is not None:
        return True
    organization = session.get(Organization, row.organization_id)
    contractor = session.scalar(select(Contractor).where(Contractor.id == row.contractor_id))
    if organization is None or contractor is None or contractor.deleted_at is not None:
        return False
    tenant = Tenant(organization, row.environment)
    url, expires_at = issue(session, settings, tenant, contractor.id)
    enqueue_email(
        session,
        row.organization_id,
        row.environment,
        EmailKind.CERTIFICATE_RENEWAL,
        contractor.email,
        CertificateRenewal(
            organization_name=organization.name,
            contractor_name=contractor.full_name,
            url=url,
            coverage_ends=row.coverage_ends or int(time.time()),
            days_left=days_left,
            expires_at=expires_at,
        ),
        related={"contractor": contractor.id, "certificate": row.id},
        email_id=email_id,
    )
    session.commit()
    return True


# The hosted page ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LinkPage:
    state: LinkState
    organization_name: str = "gigcover"
    contractor_name: str = ""
    sandbox: bool = False
    latest: Certificate | None = None  # the newest certificate uploaded through any of the contractor's links


def _find(
    session: Session, token: str
) -> tuple[LinkState, CertificateLink | None, Tenant | None, Contractor | None]:
    link = session.scalar(select(CertificateLink).where(CertificateLink.token_hash == token_digest(token)))
    organization = session.get(Organization, link.organization_id) if link is not None else None
    contractor = (
        session.scalar(
            select(Contractor).where(
                Contractor.id == link.contractor_id,
                Contractor.organization_id == link.organization_id,
                Contractor.environment == link.environment,
                Contractor.deleted_at.is_(None),
            )
        )
        if link is not None
        else None
    )
    if link is None or organization is None or contractor is None:
        return LinkState.UNKNOWN, None, None, None
    tenant = Tenant(organization, link.environment)
    if link.expires_at <= int(time.time()):
        return LinkState.EXPIRED, link, tenant, contractor
    if link.uploads >= UPLOADS_PER_LINK:
        return LinkState.USED_UP, link, tenant, contractor
    return LinkState.OPEN, link, tenant, contractor


def page(session: Session, token: str, certificate_id: str | None = None) -> LinkPage:
    """What the hosted page shows; ``certificate_id``: the one just uploaded, if it is this contractor's."""
    state, _link, tenant, contractor = _find(session, token)
    if tenant is None or contractor is None:
        return LinkPage(LinkState.UNKNOWN)
    latest = None
    if certificate_id:
        latest = session.scalar(
            select(Certificate).where(
                Certificate.id == certificate_id,
                Certificate.contractor_id == contractor.id,
                Certificate.organization_id == tenant.organization_id,
                Certificate.environment == tenant.environment,
            )
        )
    return LinkPage(
        state, tenant.organization.name, contractor.full_name, tenant.environment == "sandbox", latest
    )


UNKNOWN_LINK = "link_not_found"  # the one refusal a page shows as a link that does not work


def upload_through_link(
    session: Session, store: DocumentStore, token: str, file: UploadedFile | None
) -> Certificate:
    """The contractor's own upload: the same checks and review as the API's, against the organization's
    default requirement. Refused (NOT_FOUND kind) for an unknown link, CONFLICT for one expired or used up."""
    state, link, tenant, contractor = _find(session, token)
    if link is None or tenant is None or contractor is None:
        raise DomainError(UNKNOWN_LINK, "This link does not work", kind=Refusal.NOT_FOUND)
    if state is LinkState.EXPIRED:
        raise conflict("link_expired", "This link has expired. Ask for a new one.")
    if state is LinkState.USED_UP:
        raise conflict("link_used_up", "This link has taken all the uploads it can. Ask for a new one.")
    certificates.check_file(file)  # before the link spends an upload
    claimed = session.execute(
        update(CertificateLink)
        .where(CertificateLink.id == link.id, CertificateLink.uploads < UPLOADS_PER_LINK)
        .values(uploads=CertificateLink.uploads + 1)
    )
    if rows_changed(claimed) != 1:
        session.rollback()
        raise conflict("link_used_up", "This link has taken all the uploads it can. Ask for a new one.")
    return certificates.upload(session, store, tenant, contractor.id, file, source="hosted")
