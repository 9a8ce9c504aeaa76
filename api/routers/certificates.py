"""Certificates of insurance that contractors bring (1099Policy's ``/files/certificates``): upload one as
multipart (``contractor``, ``certificate``; optionally ``insurance_requirement`` and ``assignment``), list
and retrieve them with ``expand[]=review_results`` or ``expand[]=review_results.full``. Each is reviewed by
its own workflow; ``certificate.approved|flagged|error`` tell the platform the outcome."""

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, UploadFile

from api.deps import AppSettings, CurrentTenant, DbSession
from api.paging import PageParams
from api.uploads import read_certificate_part
from documents.issuing import document_store
from services import certificate_links, certificates

router = APIRouter(prefix="/files/certificates", tags=["certificates"])
Expand = Annotated[list[str] | None, Query(alias="expand[]")]


@router.post("", status_code=201)
def upload_certificate(
    settings: AppSettings,
    session: DbSession,
    tenant: CurrentTenant,
    contractor: Annotated[str | None, Form()] = None,
    certificate: Annotated[UploadFile | str | None, File()] = None,
    insurance_requirement: Annotated[str | None, Form()] = None,
    assignment: Annotated[str | None, Form()] = None,
) -> dict[str, Any]:
    row = certificates.upload(
        session,
        document_store(settings),
        tenant,
        contractor,
        read_certificate_part(certificate),
        requirement_id=insurance_requirement or None,
        assignment_id=assignment or None,
    )
    return certificates.present(session, settings, row)


@router.get("")
def list_certificates(
    settings: AppSettings,
    session: DbSession,
    tenant: CurrentTenant,
    page: PageParams,
    contractor: str | None = None,
    status: str | None = None,
    expand: Expand = None,
) -> list[dict[str, Any]]:
    rows = certificates.list_certificates(session, tenant, page, contractor, status)
    return [certificates.present(session, settings, row, expand or ()) for row in rows]


@router.get("/{certificate_id}")
def retrieve_certificate(
    certificate_id: str,
    settings: AppSettings,
    session: DbSession,
    tenant: CurrentTenant,
    expand: Expand = None,
) -> dict[str, Any]:
    row = certificates.get_certificate(session, tenant, certificate_id)
    return certificates.present(session, settings, row, expand or ())


requests_router = APIRouter(prefix="/contractors", tags=["certificates"])


@requests_router.post("/{contractor_id}/certificate_requests", status_code=201)
def request_certificate(
    contractor_id: str, settings: AppSettings, session: DbSession, tenant: CurrentTenant
) -> dict[str, Any]:
    """Emails the contractor a link to upload their certificate themselves (``/certificates/<token>``)."""
    sent = certificate_links.request_certificate(session, settings, tenant, contractor_id)
    return {
        "object": "certificate_request",
        "contractor": sent.contractor_id,
        "email": sent.email_id,
        "expires_at": sent.expires_at,
    }
