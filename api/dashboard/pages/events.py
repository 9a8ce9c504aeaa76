"""Events: the event log (what the API's /events lists), filtered by type, object and day, and each event's
JSON with the deliveries it made. Everyone reads."""

from datetime import date

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from api.dashboard.auth import CurrentViewer
from api.dashboard.paging import window
from api.dashboard.rendering import page
from api.deps import DbSession
from domain.errors import DomainError, invalid
from domain.events import EVENT_TYPES
from services import events as event_log

router = APIRouter()
BASE = "/dashboard/events"


def _day(value: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise invalid("date: a day as YYYY-MM-DD", "date") from None


@router.get("/events", response_class=HTMLResponse)
def events(
    request: Request,
    session: DbSession,
    viewer: CurrentViewer,
    type: str = "",
    object: str = "",
    date: str = "",
    starting_after: str | None = None,
    ending_before: str | None = None,
) -> Response:
    filters = {"type": type.strip(), "object": object.strip(), "date": date.strip()}
    status, error, rows = 200, None, None
    try:
        day = _day(filters["date"])
        rows = window(
            lambda p: event_log.list_events(
                session, viewer.tenant, p, filters["type"] or None, filters["object"] or None, day
            ),
            BASE,
            starting_after,
            ending_before,
            filters,
        )
    except DomainError as error_:
        status, error = 400, error_.message
    return page(
        request,
        "events.html",
        status,
        events=rows,
        filters=filters,
        event_types=sorted(EVENT_TYPES | ({filters["type"]} if filters["type"] else set())),
        error=error,
    )


@router.get("/events/{event_id}", response_class=HTMLResponse)
def event_page(request: Request, session: DbSession, viewer: CurrentViewer, event_id: str) -> Response:
    shown = event_log.event_overview(session, viewer.tenant, event_id)
    return page(request, "event.html", event=shown.event, event_json=shown.json, deliveries=shown.deliveries)
