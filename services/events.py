"""The event log: what happened to a platform's objects, as the API lists it and webhooks deliver it."""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy.orm import Session

from db.models import Event, WebhookDelivery
from services import representations as render
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


def event_json(event: Event) -> str:
    """The event exactly as the API returns it and the webhook body carries it."""
    return json.dumps(render.event(event), indent=2, sort_keys=True)


@dataclass(frozen=True)
class EventOverview:
    event: Event
    json: str
    deliveries: list[WebhookDelivery]


def event_overview(session: Session, tenant: Tenant, event_id: str, deliveries: int = 50) -> EventOverview:
    """One event, as JSON, with the newest deliveries it made."""
    event = get_event(session, tenant, event_id)
    made = (
        scoped(WebhookDelivery, tenant)
        .where(WebhookDelivery.event_id == event.id)
        .order_by(WebhookDelivery.seq.desc())
        .limit(deliveries)
    )
    return EventOverview(event, event_json(event), list(session.scalars(made)))
