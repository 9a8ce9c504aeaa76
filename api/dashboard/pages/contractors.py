"""Contractors: the list (search by name or email, filter by coverage status, 50 a page), each contractor's
record (policies and certificates, the certificates of insurance they brought with their compliance and a
button that emails them an upload link, applications with their link — copy, resend, expire —,
assignments, invoices, money moved, emails sent), and uploading contractors from a CSV file (a preview that
marks each bad row and why, then an import that runs as a workflow, with its progress on the page).

Reads are open to every member; acting (upload, import, resend, expire, email a link) needs the operate
capability."""

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, File, Query, Request, Response, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy.orm import Session

from api.dashboard import labels
from api.dashboard.auth import CurrentViewer, Operator, Viewer
from api.dashboard.paging import NumberCursor, window
from api.dashboard.rendering import page, redirect, refused
from api.deps import AppSettings, DbSession, Workflows
from common.settings import Settings
from contracts.contractor_import import ImportProgress
from documents.issuing import document_store
from domain.application import ENDED
from domain.assignment_actions import settled
from domain.errors import DomainError
from domain.statuses import ImportStatus
from services import applications, certificate_links, contractor_import
from services import representations as render
from services.assignment_overview import job_types_of
from services.certificate_overview import compliance_of
from services.contractor_records import (
    SHOWN,
    ContractorRecord,
    CoverageStatus,
    contractors_application,
    record_of,
    search,
    statuses,
)

router = APIRouter()
PREVIEW_SHOWN = 500  # rows listed per kind on the preview (the counts are always whole)


@router.get("/contractors", response_class=HTMLResponse)
def contractors(
    request: Request,
    session: DbSession,
    viewer: CurrentViewer,
    q: str = "",
    status: str = "",
    state: Annotated[str, Query(max_length=2)] = "",
    job_type: Annotated[str, Query(max_length=40)] = "",
    starting_after: str | None = None,
    ending_before: str | None = None,
) -> Response:
    chosen = CoverageStatus(status) if status in set(CoverageStatus) else None
    state = state.strip().upper()
    shown = window(
        lambda page_of: search(
            session, viewer.tenant, q[:200], chosen, page_of, state=state, job_type=job_type.strip()
        ),
        "/dashboard/contractors",
        starting_after,
        ending_before,
        {"q": q, "status": chosen.value if chosen else None, "state": state, "job_type": job_type},
        SHOWN,
    )
    return page(
        request,
        "contractors.html",
        rows=shown.rows,
        statuses=statuses(session, viewer.tenant, [r.id for r in shown.rows]),
        certificates=compliance_of(session, viewer.tenant, [r.id for r in shown.rows]),
        q=q,
        status=chosen.value if chosen else "",
        choices=[(s.value, labels.INSURANCE_STATUS[s]) for s in CoverageStatus],
        status_words=labels.INSURANCE_STATUS,
        states=labels.STATES,
        state=state,
        job_types=job_types_of(session, viewer.tenant),
        job_type=job_type,
        pages=shown,
    )


# Uploading (declared before /contractors/{id}, which would take "upload" for an id) -----------------------


@router.get("/contractors/upload", response_class=HTMLResponse)
def upload_form(request: Request, viewer: Operator) -> Response:
    return _upload_page(request)


def _upload_page(request: Request, status: int = 200, **context: Any) -> Response:
    return page(
        request,
        "contractor_upload.html",
        status,
        columns=contractor_import.TEMPLATE_COLUMNS,
        required=contractor_import.REQUIRED,
        max_rows=contractor_import.MAX_ROWS,
        **context,
    )


@router.get("/contractors/upload/template.csv")
def template(viewer: Operator) -> Response:
    return Response(
        contractor_import.template_csv(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="contractors-template.csv"'},
    )


@router.post("/contractors/upload")
def upload(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    viewer: Operator,
    file: Annotated[UploadFile, File()],
) -> Response:
    data = file.file.read()  # whole: the request's size is capped (GIGCOVER_MAX_REQUEST_BYTES)
    try:
        document, _rows = contractor_import.store_upload(
            session, document_store(settings), viewer.tenant, file.filename or "", data, viewer.actor
        )
    except DomainError as error:
        return refused(session, error, partial(_upload_page, request), status=400)
    return redirect(f"/dashboard/contractors/uploads/{document.id}")


@router.get("/contractors/uploads/{upload_id}", response_class=HTMLResponse)
def preview(
    request: Request, session: DbSession, settings: AppSettings, viewer: Operator, upload_id: str
) -> Response:
    document, rows = contractor_import.read_upload(
        session, document_store(settings), viewer.tenant, upload_id
    )
    result = contractor_import.preview(session, viewer.tenant, rows)
    return page(
        request,
        "contractor_preview.html",
        document=document,
        result=result,
        shown=PREVIEW_SHOWN,
        started=contractor_import.was_started(session, viewer.tenant, document),
    )


@router.post("/contractors/uploads/{upload_id}/import")
def start_import(
    session: DbSession, settings: AppSettings, workflows: Workflows, viewer: Operator, upload_id: str
) -> Response:
    document = contractor_import.start_import(
        session, document_store(settings), viewer.tenant, upload_id, viewer.actor, settings, workflows
    )
    return redirect(f"/dashboard/contractors/uploads/{document.id}/import")


@router.get("/contractors/uploads/{upload_id}/import", response_class=HTMLResponse)
def import_report(
    request: Request, session: DbSession, workflows: Workflows, viewer: CurrentViewer, upload_id: str
) -> Response:
    document = contractor_import.get_upload(session, viewer.tenant, upload_id)
    progress = contractor_import.progress_of(session, viewer.tenant, document, workflows)
    started = progress is not None or contractor_import.was_started(session, viewer.tenant, document)
    return page(request, "contractor_import.html", document=document, progress=progress, started=started)


@router.get("/contractors/uploads/{upload_id}/import/progress")
def import_progress(
    session: DbSession, workflows: Workflows, viewer: CurrentViewer, upload_id: str
) -> Response:
    """What the report page polls: the counts so far (the refused rows are on the page once it finishes)."""
    document = contractor_import.get_upload(session, viewer.tenant, upload_id)
    progress = contractor_import.progress_of(session, viewer.tenant, document, workflows) or ImportProgress(
        status=ImportStatus.RUNNING
    )
    return JSONResponse(progress.model_dump(exclude={"refused"}))


# One contractor ------------------------------------------------------------------------------------------


def _record(
    request: Request,
    session: Session,
    settings: Settings,
    viewer: Viewer,
    contractor_id: str,
    status: int = 200,
    emails_before: int | None = None,
    **context: Any,
) -> Response:
    record = record_of(session, viewer.tenant, contractor_id, emails_before)
    links = {
        a.id: render.application_session(a, settings.public_base_url)["url"] for a in record.applications
    }
    return page(
        request,
        "contractor.html",
        status,
        record=record,
        c=record.contractor,
        shown=render.contractor(record.contractor),
        links=links,
        ended={s.value for s in ENDED},
        live=_live(record),
        **context,
    )


def _live(record: ContractorRecord) -> dict[str, Any]:
    """What the contractor's page shows that applications and assignments change, by element id
    (static/live.js), and whether anything is still under way (else the page stops asking)."""
    fields = {"contractor-status": labels.INSURANCE_STATUS[record.status]}
    for a in record.applications:
        fields[f"application-status-{a.id}"] = str(a.status).lower().replace("_", " ")
        fields[f"application-step-{a.id}"] = (a.step or "").replace("_", " ")
    for s in record.assignments:
        fields[f"assignment-status-{s.id}"] = labels.assignment_status(s.status)
    under_way = any(a.status not in ENDED for a in record.applications) or any(
        not settled(s.status, bool(s.charge_due_at and s.charge_due_at > 0)) for s in record.assignments
    )
    return {"final": not under_way, "fields": fields}


@router.get("/contractors/{contractor_id}/live")
def contractor_live(session: DbSession, viewer: CurrentViewer, contractor_id: str) -> Response:
    """What the contractor's page polls while an application or assignment of theirs is under way."""
    return JSONResponse(_live(record_of(session, viewer.tenant, contractor_id)))


@router.get("/contractors/{contractor_id}", response_class=HTMLResponse)
def contractor(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    viewer: CurrentViewer,
    contractor_id: str,
    emails_before: NumberCursor = None,
) -> Response:
    return _record(request, session, settings, viewer, contractor_id, emails_before=emails_before)


def _refused(
    request: Request,
    session: Session,
    settings: Settings,
    viewer: Viewer,
    contractor_id: str,
    error: DomainError,
) -> Response:
    """The contractor's record with the refusal; what we do not show: the not-found page (nothing was
    changed yet)."""
    show = partial(_record, request, session, settings, viewer, contractor_id)
    return refused(session, error, show, not_found_page=True)


@router.post("/contractors/{contractor_id}/applications/{session_id}/resend")
def resend_link(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    viewer: Operator,
    contractor_id: str,
    session_id: str,
) -> Response:
    try:
        contractors_application(session, viewer.tenant, contractor_id, session_id)
        applications.resend_link(session, viewer.tenant, session_id, settings, viewer.actor)
    except DomainError as error:
        return _refused(request, session, settings, viewer, contractor_id, error)
    return redirect(f"/dashboard/contractors/{contractor_id}", "resent")


@router.post("/contractors/{contractor_id}/applications/{session_id}/expire")
def expire(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    workflows: Workflows,
    viewer: Operator,
    contractor_id: str,
    session_id: str,
) -> Response:
    try:
        contractors_application(session, viewer.tenant, contractor_id, session_id)
        applications.expire_application(session, viewer.tenant, session_id, workflows, viewer.actor)
    except DomainError as error:
        return _refused(request, session, settings, viewer, contractor_id, error)
    return redirect(f"/dashboard/contractors/{contractor_id}", "expired")


@router.post("/contractors/{contractor_id}/certificate-link")
def email_certificate_link(
    request: Request, session: DbSession, settings: AppSettings, viewer: Operator, contractor_id: str
) -> Response:
    """Emails the contractor a link to a page where they upload their certificate of insurance."""
    try:
        certificate_links.request_certificate(session, settings, viewer.tenant, contractor_id, viewer.actor)
    except DomainError as error:
        return _refused(request, session, settings, viewer, contractor_id, error)
    return redirect(f"/dashboard/contractors/{contractor_id}", "link_sent")
