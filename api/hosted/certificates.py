"""The page a contractor reaches from a certificate request or renewal email (``/certificates/<token>``):
upload their certificate of insurance from their phone, so the platform never relays PDFs. The link's
token (services/certificate_links.py) is the capability; the contractor's id opens nothing. The page
says plainly when the file is not a PDF or is too large, then that the certificate was received, with its
status."""

from typing import Annotated
from urllib.parse import quote as urlquote

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from api.deps import AppSettings, DbSession
from api.hosted.rendering import NO_STORE, TEMPLATES, redirect
from api.hosted.security import page_messages
from api.uploads import read_certificate_part
from documents.issuing import document_store
from domain.certificates import CertificateStatus
from domain.errors import DomainError
from services import certificate_links
from services.certificate_links import LinkState
from services.certificates import MAX_CERTIFICATE_BYTES

router = APIRouter(prefix="/certificates", include_in_schema=False)
NO_LINK = ("This link does not work", "Check that you opened the whole link from your email.")
STATUS_WORDS = {
    CertificateStatus.PENDING: "Received: we are about to check it.",
    CertificateStatus.PROCESSING: "We are checking it now.",
    CertificateStatus.APPROVED: "Approved: it meets the requirements.",
    CertificateStatus.FLAGGED: "Under review: someone will look at it and tell you if anything is missing.",
    CertificateStatus.DENIED: "Not accepted: you will hear what is missing.",
    CertificateStatus.ERROR: "We could not read this file. Please upload a clearer PDF of your certificate.",
}
FRIENDLY = {
    "invalid_file_type": "This file is not a PDF. Please choose your certificate as a PDF file.",
    "invalid_mime_type": "This file is not a PDF. Please choose your certificate as a PDF file.",
    "invalid_file_size": "This file is larger than 15 MB. Please choose a smaller PDF (a scan at a lower "
    "resolution, or just the certificate's pages).",
    "missing_certificate": "Choose your certificate's PDF file first.",
    "no_insurance_requirement_found": "This organization has not set up its insurance requirements yet. "
    "Please try again later.",
}


def _ended(
    request: Request, heading: str, message: str, status: int, organization: str = "gigcover"
) -> Response:
    context = {"organization_name": organization, "heading": heading, "steps": None, "message": message}
    return TEMPLATES.TemplateResponse(request, "ended.html", context, status_code=status, headers=NO_STORE)


@router.get("/{token}", response_class=HTMLResponse)
def certificate_page(
    token: str,
    request: Request,
    session: DbSession,
    received: str | None = None,
    error: str | None = None,
    sig: str | None = None,
) -> Response:
    error = page_messages().shown(token, error, sig)
    page = certificate_links.page(session, token, received)
    if page.state is LinkState.UNKNOWN:  # a 404: counted by the hosted-link throttle
        return _ended(request, *NO_LINK, 404)
    if page.latest is None and page.state is LinkState.EXPIRED:
        return _ended(
            request,
            "This link has expired",
            f"Ask {page.organization_name} for a new link to upload your certificate.",
            410,
            page.organization_name,
        )
    context = {
        "organization_name": page.organization_name,
        "sandbox": page.sandbox,
        "steps": None,
        "error": error,
        "contractor_name": page.contractor_name,
        "received": page.latest,
        "status_words": STATUS_WORDS.get(page.latest.status) if page.latest else None,
        "can_upload": page.state is LinkState.OPEN,
        "action": f"/certificates/{token}",
        "max_bytes": MAX_CERTIFICATE_BYTES,
    }
    return TEMPLATES.TemplateResponse(request, "certificate_upload.html", context, headers=NO_STORE)


def _with_message(token: str, message: str) -> str:
    signature = page_messages().sign(token, message)
    return f"/certificates/{token}?error={urlquote(message)}&sig={signature}"


@router.post("/{token}")
def upload_certificate(
    token: str,
    request: Request,
    settings: AppSettings,
    session: DbSession,
    certificate: Annotated[UploadFile | str | None, File()] = None,
) -> Response:
    try:
        row = certificate_links.upload_through_link(
            session,
            document_store(settings),
            token,
            read_certificate_part(certificate),
        )
    except DomainError as refused:
        if refused.code == certificate_links.UNKNOWN_LINK:  # a 404: counted by the hosted-link throttle
            return _ended(request, *NO_LINK, 404)
        return redirect(_with_message(token, FRIENDLY.get(refused.code, refused.message)))
    return redirect(f"/certificates/{token}?received={row.id}")
