"""Job codes: the organization's job categories with their rates in each state (services.job_codes), narrowed
by a state and by words in a code or description. Every member reads it."""

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from api.dashboard import labels
from api.dashboard.auth import CurrentViewer
from api.dashboard.rendering import page
from api.deps import DbSession
from domain.geography import US_STATES
from services.job_codes import job_codes

router = APIRouter()
COLUMNS = labels.COVERAGE


@router.get("/job-codes", response_class=HTMLResponse)
def job_codes_page(
    request: Request, session: DbSession, viewer: CurrentViewer, state: str = "", q: str = ""
) -> Response:
    state = state.upper() if state.upper() in US_STATES else ""
    return page(
        request,
        "job_codes.html",
        codes=job_codes(session, viewer.tenant, state, q[:200]),
        state=state,
        q=q[:200],
        states=US_STATES,
        columns=COLUMNS,
    )
