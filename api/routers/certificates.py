"""Certificates of insurance that contractors bring (1099Policy's ``/files/certificates``): upload one as
multipart (``contractor``, ``certificate``; optionally ``insurance_requirement`` and ``assignment``), list
and retrieve them with ``expand[]=review_results`` or ``expand[]=review_results.full``. Each is reviewed by
its own workflow; ``certificate.approved|flagged|error`` tell the platform the outcome."""

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, UploadFile

from api.deps import AppSettings, CurrentTenant, DbSession
from api.paging import PageParams
from documents.issuing import document_store
from services import certificates
from services.certificates import MAX_CERTIFICATE_BYTES, UploadedFile

router = APIRouter(prefix="/files/certificates", tags=["certificates"])
Expand = Annotated[list[str] | None, Query(alias="expand[]")]


def read_upload(certificate: UploadFile | str | None) -> UploadedFile | None:
    """The file part as the service checks it: a plain form value is no file. Reads one byte more than the
    limit, so an oversized file is refused without being read whole."""
    if certificate is None or isinstance(certificate, str):
        return None
    data = certificate.file.read(MAX_CERTIFICATE_BYTES + 1)
    return UploadedFile(certificate.filename or "", certificate.content_type or "", data)


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
        read_upload(certificate),
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
