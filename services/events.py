"""The event log: what happened to a platform's objects, as the API lists it and webhooks deliver it."""

from collections.abc import Sequence
from datetime import UTC, date, datetime

from sqlalchemy.orm import Session

from db.models import Event
from services.lookups import Page, filtered, get_owned, list_page, scoped
from services.tenancy import Tenant

DAY = 86_400


def get_event(session: Session, tenant: Tenant, event_id: str) -> Event:
    return get_owned(session, Event, tenant, event_id, "invalid_event_id", "event")


def list_events(
    session: Session,
    tenant: Tenant,
    page: Page,
    type: str | None = None,
    object_id: str | None = None,
    day: date | None = None,
) -> Sequence[Event]:
    """A page of the tenant's events, newest first: of one ``type``, about one object (the ``id`` in the
    event's data), and/or made on one ``day`` (UTC)."""
    query = filtered(scoped(Event, tenant), {Event.type: type})
    if object_id is not None:
        query = query.where(Event.data["id"].as_string() == object_id)
    if day is not None:
        start = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())
        query = query.where(Event.created >= start, Event.created < start + DAY)
    return list_page(session, query, Event, page)
