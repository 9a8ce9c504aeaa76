from typing import Any

from fastapi import APIRouter

from api.deps import CurrentTenant, DbSession
from api.paging import PageParams
from common import representations as render
from db.models import Event
from services.lookups import filtered, get_owned, list_page, scoped

router = APIRouter(prefix="/events", tags=["events"])


@router.get("")
def list_events(
    session: DbSession, tenant: CurrentTenant, page: PageParams, type: str | None = None
) -> list[dict[str, Any]]:
    query = filtered(scoped(Event, tenant), {Event.type: type})
    return [render.event(e) for e in list_page(session, query, Event, page)]


@router.get("/{event_id}")
def retrieve_event(event_id: str, session: DbSession, tenant: CurrentTenant) -> dict[str, Any]:
    return render.event(get_owned(session, Event, tenant, event_id, "invalid_event_id", "event"))
