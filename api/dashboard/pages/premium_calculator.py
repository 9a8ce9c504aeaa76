"""The premium calculator: the premium the API's quote path would state for one engagement, or for each row
of a CSV file (with a result file to download), from services.premium_calculator. Nothing is created,
stored or charged: the answer is on the page (and in the download) only. Every member may use it."""

import base64
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, Response, UploadFile
from fastapi.responses import HTMLResponse

from api.dashboard.auth import CurrentViewer
from api.dashboard.rendering import page
from api.dashboard.words import page_words
from api.deps import DbSession
from domain.errors import DomainError
from domain.geography import US_STATES
from services import premium_calculator as calculator

router = APIRouter()
PATH = "/dashboard/premium-calculator"
SHOWN = 200  # rows of a file listed on the page (the download has every one)
Text = Annotated[str, Form(max_length=200)]


def _show(
    request: Request, session: DbSession, viewer: CurrentViewer, status: int = 200, **context: Any
) -> Response:
    offered = calculator.choices(session, viewer.tenant)
    return page(
        request,
        "premium_calculator.html",
        status,
        categories=offered.categories,
        jobs=offered.jobs,
        states=US_STATES,
        coverage_words=calculator.COVERAGE_WORDS,
        pay_types=calculator.PAY_TYPE_WORDS,
        columns=calculator.COLUMNS,
        max_rows=calculator.MAX_ROWS,
        max_mb=calculator.MAX_BYTES // 1_000_000,
        shown=SHOWN,
        typed=context.pop("typed", {}),
        **context,
    )


@router.get("/premium-calculator", response_class=HTMLResponse)
def calculator_page(request: Request, session: DbSession, viewer: CurrentViewer, job: str = "") -> Response:
    """The form, filled from one of the organization's jobs when one is chosen."""
    if not job:
        return _show(request, session, viewer)
    try:
        typed = calculator.from_job(session, viewer.tenant, job[:40])
    except DomainError:
        return _show(request, session, viewer, 404, error="That job was not found: choose another one.")
    return _show(request, session, viewer, typed=typed)


@router.get("/premium-calculator/template.csv")
def template(viewer: CurrentViewer) -> Response:
    return Response(
        calculator.template_csv(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="premium-calculator-template.csv"'},
    )


@router.post("/premium-calculator", response_class=HTMLResponse)
def calculate_one(
    request: Request,
    session: DbSession,
    viewer: CurrentViewer,
    job_category: Text = "",
    work_state: Text = "",
    home_state: Text = "",
    coverage: Annotated[list[str] | None, Form(max_length=3)] = None,
    pay: Text = "",
    pay_type: Text = "",
    hours: Text = "",
    start_date: Text = "",
    end_date: Text = "",
) -> Response:
    typed = {
        "job_category": job_category,
        "work_state": work_state,
        "home_state": home_state,
        "coverage": "; ".join(coverage or []),
        "pay": pay,
        "pay_type": pay_type,
        "hours": hours,
        "start_date": start_date,
        "end_date": end_date,
    }
    chosen = set(coverage or [])
    try:
        estimate = calculator.estimate_one(session, viewer.tenant, typed)
    except DomainError as error:
        return _show(request, session, viewer, 400, error=page_words(error), typed=typed, chosen=chosen)
    return _show(request, session, viewer, estimate=estimate, typed=typed, chosen=chosen)


@router.post("/premium-calculator/file", response_class=HTMLResponse)
def calculate_file(
    request: Request, session: DbSession, viewer: CurrentViewer, file: Annotated[UploadFile, File()]
) -> Response:
    data = file.file.read(calculator.MAX_BYTES + 1)  # the request's size is capped too
    try:
        result = calculator.estimate_file(session, viewer.tenant, data)
    except DomainError as error:
        return _show(request, session, viewer, 400, file_error=page_words(error))
    download = base64.b64encode(calculator.result_csv(result).encode()).decode()
    return _show(
        request,
        session,
        viewer,
        result=result,
        filename=file.filename or "engagements.csv",
        download=f"data:text/csv;charset=utf-8;base64,{download}",
    )
