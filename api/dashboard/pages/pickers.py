"""What a contractor or job field suggests as one types (static/picker.js asks): the viewer's own
contractors or jobs, in the environment shown, whose name (or email) holds the text (services.pickers)."""

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from api.dashboard.auth import CurrentViewer
from api.deps import DbSession
from services import pickers

router = APIRouter()


@router.get("/pick/contractors")
def pick_contractor(session: DbSession, viewer: CurrentViewer, q: str = "") -> Response:
    found = pickers.suggest_contractors(session, viewer.tenant, q)
    return JSONResponse([c.as_json() for c in found])


@router.get("/pick/jobs")
def pick_job(session: DbSession, viewer: CurrentViewer, q: str = "") -> Response:
    found = pickers.suggest_jobs(session, viewer.tenant, q)
    return JSONResponse([c.as_json() for c in found])
