"""Recording events from workflows. The workflow chooses the event id, so a retried activity never
records the same event twice; the event's webhook deliveries start once it is committed."""

from typing import Any

from pydantic import BaseModel
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity

from outbox.dispatch import Dispatcher
from outbox.records import committed_items, record_event


class EventToRecord(BaseModel):
    event_id: str
    organization_id: str
    environment: str
    type: str
    data: dict[str, Any]


class EventActivities:
    def __init__(self, session_factory: sessionmaker[Session], dispatcher: Dispatcher) -> None:
        self._sessions = session_factory
        self._dispatcher = dispatcher

    @activity.defn
    def record_event(self, event: EventToRecord) -> str:
        with self._sessions() as session:
            record_event(
                session,
                event.organization_id,
                event.environment,
                event.type,
                event.data,
                event_id=event.event_id,
            )
            session.commit()
            self._dispatcher.dispatch_from_thread(committed_items(session))
        return event.event_id
