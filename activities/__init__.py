"""Every side effect of the workflows lives here: database writes, Stripe calls, PDFs, emails, webhooks."""

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from activities.events import EventActivities


def build_activities(session_factory: sessionmaker[Session]) -> list[Callable[..., Any]]:
    events = EventActivities(session_factory)
    return [events.record_event]
