from typing import Any

from fastapi import APIRouter

from api.deps import CurrentTenant, DbSession
from api.paging import PageParams
from services import events
from services import representations as render

router = APIRouter(prefix="/events", tags=["events"])


@router.get("")
def list_events(
    session: DbSession, tenant: CurrentTenant, page: PageParams, type: str | None = None
) -> list[dict[str, Any]]:
    return [render.event(e) for e in events.list_events(session, tenant, page, type=type)]


@router.get("/{event_id}")
def retrieve_event(event_id: str, session: DbSession, tenant: CurrentTenant) -> dict[str, Any]:
    return render.event(events.get_event(session, tenant, event_id))
