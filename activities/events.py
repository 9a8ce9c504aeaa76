"""Recording events from workflows. The workflow chooses the event id, so a retried activity never
records the same event twice."""

import time
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity

from db.models import Event


class EventToRecord(BaseModel):
    event_id: str
    organization_id: str
    environment: str
    type: str
    data: dict[str, Any]


class EventActivities:
    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._sessions = session_factory

    @activity.defn
    def record_event(self, event: EventToRecord) -> str:
        with self._sessions() as session:
            if session.scalar(select(Event.id).where(Event.id == event.event_id)) is None:
                session.add(
                    Event(id=event.event_id, organization_id=event.organization_id,
                          environment=event.environment, created=int(time.time()), type=event.type,
                          data=event.data)
                )  # fmt: skip
                session.commit()
        return event.event_id
