"""The overview: what needs attention now, each item a link to the object."""

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from api.dashboard.auth import CurrentViewer
from api.dashboard.rendering import page
from api.deps import DbSession
from services.attention import needs_attention

router = APIRouter()


@router.get("", response_class=HTMLResponse)
def overview(request: Request, session: DbSession, viewer: CurrentViewer) -> Response:
    return page(request, "overview.html", concerns=needs_attention(session, viewer.tenant))
