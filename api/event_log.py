"""Recording events: one row per state change worth telling a platform, in the caller's transaction."""

from typing import Any

from sqlalchemy.orm import Session

from api.deps import Tenant
from api.queries import now
from common.ids import new_id
from db.models import Event


def record_event(session: Session, tenant: Tenant, event_type: str, data: dict[str, Any]) -> Event:
    event = Event(
        id=new_id("event"),
        organization_id=tenant.organization_id,
        environment=tenant.environment,
        created=now(),
        type=event_type,
        data=data,
    )
    session.add(event)
    return event
