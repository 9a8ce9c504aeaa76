"""Writing events, webhook deliveries and emails in the caller's transaction."""

import json
from typing import Any, Literal

from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from db.models import EmailMessage, Event, Scope, WebhookDelivery, WebhookEndpoint
from domain.statuses import DeliveryStatus, EmailStatus, WebhookEndpointStatus
from notifications.catalog import STAFF_KINDS, EmailContext, EmailKind
from notifications.render import render_email

OutboxKind = Literal["webhook", "email", "application", "assignment", "certificate"]
OutboxItem = tuple[OutboxKind, str]

_NEW, _COMMITTED = "outbox_new", "outbox_committed"
# Where mail to the dashboard's members is filed: members are not tenant data, and no API key or dashboard
# page is ever scoped to this environment, so no tenant list, page or count can include their mail.
STAFF_ENVIRONMENT = "staff"


def track_commits(factory: sessionmaker[Session]) -> sessionmaker[Session]:
    """Make sessions of ``factory`` remember which outbox rows their commits made durable."""

    @event.listens_for(factory, "after_commit")
    def _committed(session: Session) -> None:
        session.info.setdefault(_COMMITTED, []).extend(session.info.pop(_NEW, []))

    @event.listens_for(factory, "after_rollback")
    def _rolled_back(session: Session) -> None:
        session.info.pop(_NEW, None)

    return factory


def committed_items(session: Session) -> list[OutboxItem]:
    """Outbox rows this session has committed and not yet handed to the dispatcher."""
    return session.info.pop(_COMMITTED, [])


def start_after_commit(session: Session, item: OutboxItem) -> None:
    """Have ``item``'s workflow started once the session commits (and by the sweep, should that fail)."""
    _remember(session, item)


def _remember(session: Session, item: OutboxItem) -> None:
    session.info.setdefault(_NEW, []).append(item)


def event_payload(stored: Event) -> dict[str, Any]:
    """An event as the API returns it and as webhooks deliver it."""
    return {
        "id": stored.id,
        "object": "event",
        "type": stored.type,
        "created": stored.created,
        "data": stored.data,
    }


def _subscribed(endpoint: WebhookEndpoint, event_type: str) -> bool:
    return "*" in endpoint.events or event_type in endpoint.events


def record_event(
    session: Session,
    organization_id: str,
    environment: str,
    event_type: str,
    data: dict[str, Any],
    event_id: str | None = None,
) -> Event:
    """Store an event and one delivery per enabled endpoint subscribed to its type.

    A given ``event_id`` makes this idempotent: recording it again returns the stored event.
    """
    if event_id is not None:
        existing = session.scalar(select(Event).where(Event.id == event_id))
        if existing is not None:
            return existing
    stored = Event.new(Scope(organization_id, environment), id=event_id, type=event_type, data=data)
    now = stored.created
    session.add(stored)
    endpoints = session.scalars(
        select(WebhookEndpoint).where(
            WebhookEndpoint.organization_id == organization_id,
            WebhookEndpoint.environment == environment,
            WebhookEndpoint.deleted_at.is_(None),
            WebhookEndpoint.status == WebhookEndpointStatus.ENABLED,
        )
    )
    for endpoint in endpoints:
        if _subscribed(endpoint, event_type):
            add_delivery(session, stored, endpoint, now)
    return stored


def add_delivery(
    session: Session, stored: Event, endpoint: WebhookEndpoint, now: int, resend_of: str | None = None
) -> WebhookDelivery:
    delivery = WebhookDelivery.new(
        stored,
        created=now,
        event_id=stored.id,
        endpoint_id=endpoint.id,
        status=DeliveryStatus.PENDING,
        dispatched=False,
        attempt_count=0,
        resend_of=resend_of,
    )
    session.add(delivery)
    _remember(session, ("webhook", delivery.id))
    return delivery


def enqueue_email(
    session: Session,
    organization_id: str,
    environment: str,
    kind: EmailKind,
    recipient: str,
    context: EmailContext,
    related: dict[str, str] | None = None,
    email_id: str | None = None,
) -> EmailMessage:
    """Record an email to send. A given ``email_id`` makes this idempotent, as for events.

    What is stored readable is the email with its capability links withheld; the message as sent is kept
    sealed until it is delivered (outbox/senders.py wipes it). A staff kind (an invitation, a reset) is
    filed under ``STAFF_ENVIRONMENT`` whatever ``environment`` the caller gave."""
    if email_id is not None:
        existing = session.scalar(select(EmailMessage).where(EmailMessage.id == email_id))
        if existing is not None:
            return existing
    shown = render_email(kind, context.withheld())
    sealed = None
    if context.capability_fields():
        sent = render_email(kind, context)
        sealed = json.dumps({"text": sent.text, "html": sent.html})
    message = EmailMessage.new(
        Scope(organization_id, STAFF_ENVIRONMENT if kind in STAFF_KINDS else environment),
        id=email_id,
        kind=kind.value,
        recipient=recipient,
        subject=shown.subject,
        text_body=shown.text,
        html_body=shown.html,
        sealed_message=sealed,
        related=related or {},
        status=EmailStatus.PENDING,
        dispatched=False,
        attempt_count=0,
    )
    session.add(message)
    _remember(session, ("email", message.id))
    return message
