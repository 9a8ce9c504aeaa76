"""Recording events from API routes, in the route's transaction (webhook deliveries start after commit)."""

from typing import Any

from sqlalchemy.orm import Session

from api.deps import Tenant
from db.models import Event
from outbox import records


def record_event(session: Session, tenant: Tenant, event_type: str, data: dict[str, Any]) -> Event:
    return records.record_event(session, tenant.organization_id, tenant.environment, event_type, data)
