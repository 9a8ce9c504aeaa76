"""The activities the worker registers, built around their shared resources."""

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from activities.documents import DocumentActivities
from activities.emails import EmailActivities
from activities.events import EventActivities
from activities.outbox import OutboxActivities
from activities.webhooks import WebhookActivities
from common.settings import Settings
from outbox.dispatch import Dispatcher


def build_activities(
    session_factory: sessionmaker[Session], settings: Settings, dispatcher: Dispatcher
) -> list[Callable[..., Any]]:
    events = EventActivities(session_factory, dispatcher)
    webhooks = WebhookActivities(session_factory, settings.webhook_timeout_seconds)
    emails = EmailActivities(session_factory, settings)
    outbox = OutboxActivities(dispatcher)
    documents = DocumentActivities(session_factory, settings)
    return [
        events.record_event,
        webhooks.deliver_webhook,
        webhooks.give_up_webhook_delivery,
        emails.send_email,
        emails.give_up_email,
        outbox.dispatch_undispatched,
        documents.issue_certificates,
        documents.issue_bill,
    ]
