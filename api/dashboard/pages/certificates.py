"""Certificates of insurance contractors brought: the review queue (flagged first, then oldest first), one
certificate (its PDF beside the fields read and each rule's result, the decision history) and a reviewer's
decisions: approve a failed rule with a reason, approve or deny the certificate.

Reads are open to every member; deciding needs the operate capability (admins and operators)."""

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from api.dashboard.auth import CurrentViewer, Operator, Viewer
from api.dashboard.rendering import page, redirect, refused
from api.deps import AppSettings, DbSession
from documents.issuing import document_store
from domain.certificates import CertificateStatus
from domain.errors import DomainError
from services import certificate_decisions
from services.certificate_overview import certificate_pdf, certificate_view, review_queue

router = APIRouter()
# The PDF is shown in a frame of the certificate's page: only that page (same origin) may frame it, and the
# PDF itself may load nothing.
PDF_POLICY = "; ".join(
    [
        "default-src 'none'",
        "object-src 'self'",
        "frame-ancestors 'self'",
        "base-uri 'none'",
        "form-action 'none'",
    ]
)


@router.get("/certificates", response_class=HTMLResponse)
def queue(
    request: Request,
    session: DbSession,
    viewer: CurrentViewer,
    status: str = "",
    page_number: Annotated[int, Query(alias="page", ge=1, le=10_000)] = 1,
) -> Response:
    chosen = CertificateStatus(status) if status in set(CertificateStatus) else None
    shown = review_queue(session, viewer.tenant, chosen, page_number)
    return page(
        request,
        "certificates.html",
        queue=shown,
        status=chosen.value if chosen else "",
        statuses=list(CertificateStatus),
    )


def _detail(
    request: Request, session: Session, viewer: Viewer, certificate_id: str, status: int = 200, **context: Any
) -> Response:
    view = certificate_view(session, viewer.tenant, certificate_id)
    return page(request, "certificate.html", status, view=view, **context)


@router.get("/certificates/{certificate_id}", response_class=HTMLResponse)
def certificate(request: Request, session: DbSession, viewer: CurrentViewer, certificate_id: str) -> Response:
    return _detail(request, session, viewer, certificate_id)


@router.get("/certificates/{certificate_id}/pdf")
def pdf(session: DbSession, settings: AppSettings, viewer: CurrentViewer, certificate_id: str) -> Response:
    data = certificate_pdf(session, document_store(settings), viewer.tenant, certificate_id)
    return Response(
        data,
        media_type="application/pdf",
        headers={
            # the uploader's filename stays on the page (escaped); the download gets a name of ours
            "Content-Disposition": f'inline; filename="{certificate_id}.pdf"',
            "Content-Security-Policy": PDF_POLICY,
            "X-Frame-Options": "SAMEORIGIN",
        },
    )


def _again(
    request: Request, session: Session, viewer: Viewer, certificate_id: str, error: DomainError, **form: Any
) -> Response:
    """The certificate's page with the refusal; another organization's certificate: the not-found page."""
    show = partial(_detail, request, session, viewer, certificate_id)
    return refused(session, error, show, not_found_page=True, **form)


@router.post("/certificates/{certificate_id}/rules/approve")
def approve_rule(
    request: Request,
    session: DbSession,
    viewer: Operator,
    certificate_id: str,
    rule: Annotated[str, Form(max_length=120)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    try:
        certificate_decisions.approve_rule(session, viewer.tenant, certificate_id, rule, reason, viewer.actor)
    except DomainError as error:
        form = {"rule": rule, "reason": reason}
        return _again(request, session, viewer, certificate_id, error, rule_form=form)
    return redirect(f"/dashboard/certificates/{certificate_id}", "rule_approved")


@router.post("/certificates/{certificate_id}/approve")
def approve(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    viewer: Operator,
    certificate_id: str,
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    try:
        certificate_decisions.approve(session, settings, viewer.tenant, certificate_id, reason, viewer.actor)
    except DomainError as error:
        return _again(request, session, viewer, certificate_id, error, approve_form={"reason": reason})
    return redirect(f"/dashboard/certificates/{certificate_id}", "certificate_approved")


@router.post("/certificates/{certificate_id}/deny")
def deny(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    viewer: Operator,
    certificate_id: str,
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    try:
        certificate_decisions.deny(session, settings, viewer.tenant, certificate_id, reason, viewer.actor)
    except DomainError as error:
        return _again(request, session, viewer, certificate_id, error, deny_form={"reason": reason})
    return redirect(f"/dashboard/certificates/{certificate_id}", "certificate_denied")
