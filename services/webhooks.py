"""Webhook endpoints: where a platform's events are delivered, and resending a delivery."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import AnyHttpUrl, Field, field_validator
from pydantic_core import PydanticCustomError
from sqlalchemy import select
from sqlalchemy.orm import Session

from common.ids import new_webhook_secret
from common.schemas import Strict
from common.settings import Settings
from db.models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from domain.errors import conflict, invalid, not_found
from domain.events import EVENT_TYPES, NOT_SENT, not_sent_reason
from domain.statuses import WebhookEndpointStatus
from integrations.outbound import check_target
from outbox.records import add_delivery
from services import audit
from services.events import event_json
from services.lookups import Page, filtered, get_endpoint, get_owned, list_page, now, scoped
from services.tenancy import Tenant

MAX_OVERLAP_HOURS = 168  # a rolled secret signs beside the new one for at most a week


def _event_list(value: Any) -> Any:
    if value is None or value == "*" or value == ["*"]:
        return ["*"]
    if isinstance(value, list):
        if not all(isinstance(v, str) for v in value):
            raise ValueError('event types are strings, e.g. "policy.active"')
        requested = sorted(set(value))
        unknown = [v for v in requested if v not in EVENT_TYPES and v not in NOT_SENT]
        problems = [f"unknown event types: {', '.join(unknown)}"] if unknown else []
        problems += [reason for v in requested if (reason := not_sent_reason(v))]
        if problems:  # without pydantic's "Value error, " prefix: the message is the API's error message
            raise PydanticCustomError("event_types", "{problems}", {"problems": "; ".join(problems)})
        return requested
    raise ValueError("a list of event types, or '*' for all")


EVENTS_FIELD = (
    'The event types to deliver, or "*" for all: '
    + ", ".join(sorted(EVENT_TYPES))
    + ". 1099Policy's "
    + ", ".join(sorted(NOT_SENT))
    + " are refused: gigcover never sends them."
)


class EndpointIn(Strict):
    url: AnyHttpUrl
    description: str | None = Field(None, max_length=500)
    events: list[str] | str | None = Field(None, description=EVENTS_FIELD)

    _events = field_validator("events", mode="before")(_event_list)


class EndpointUpdate(Strict):
    url: AnyHttpUrl | None = None
    description: str | None = Field(None, max_length=500)
    events: list[str] | str | None = Field(None, description=EVENTS_FIELD)
    status: WebhookEndpointStatus | None = Field(
        None, description="A disabled endpoint gets no new deliveries, and its pending ones stop retrying."
    )
    disabled: bool | None = Field(None, description="Shorthand for status.")

    _events = field_validator("events", mode="before")(_event_list)


def _audit(
    session: Session, tenant: Tenant, actor: audit.Actor | None, action: str, target: str, **detail: Any
) -> None:
    """Changes made from the dashboard are recorded (in the change's transaction); the API's are not."""
    if actor is not None:
        audit.record(
            session, tenant.organization_id, actor, action, target, environment=tenant.environment, **detail
        )


def create_endpoint(
    session: Session, tenant: Tenant, body: EndpointIn, settings: Settings, actor: audit.Actor | None = None
) -> WebhookEndpoint:
    check_target(str(body.url), tenant.environment, settings.sandbox_private_webhook_targets)
    endpoint = WebhookEndpoint.new(
        tenant,
        url=str(body.url),
        description=body.description,
        events=body.events or ["*"],
        secret=new_webhook_secret(),
    )
    session.add(endpoint)
    _audit(session, tenant, actor, "webhook_endpoint.created", endpoint.id, url=endpoint.url)
    session.commit()
    return endpoint


def update_endpoint(
    session: Session,
    tenant: Tenant,
    endpoint_id: str,
    body: EndpointUpdate,
    settings: Settings,
    actor: audit.Actor | None = None,
) -> WebhookEndpoint:
    endpoint = get_endpoint(session, tenant, endpoint_id)
    changes = body.model_dump(exclude_unset=True)
    if "url" in changes:
        if changes["url"] is None:
            raise invalid("url: cannot be removed", "url")
        check_target(str(changes["url"]), tenant.environment, settings.sandbox_private_webhook_targets)
        endpoint.url = str(changes["url"])
    if "description" in changes:
        endpoint.description = changes["description"]
    if "events" in changes:
        endpoint.events = changes["events"]
    if changes.get("status") is not None:
        endpoint.status = changes["status"]
    if changes.get("disabled") is not None:
        endpoint.status = (
            WebhookEndpointStatus.DISABLED if changes["disabled"] else WebhookEndpointStatus.ENABLED
        )
    _audit(
        session,
        tenant,
        actor,
        "webhook_endpoint.updated",
        endpoint.id,
        **{k: str(v) if k == "url" else v for k, v in changes.items()},
    )
    session.commit()
    return endpoint


class SecretRoll(Strict):
    expires_in_hours: int = Field(
        24,
        description="How long the old secret keeps signing deliveries beside the new one (two v1= "
        f"signatures), so receivers can switch over: 0 (it stops at once) to {MAX_OVERLAP_HOURS}.",
    )


def roll_secret(
    session: Session, tenant: Tenant, endpoint_id: str, actor: audit.Actor, expires_in_hours: int = 24
) -> WebhookEndpoint:
    """A new signing secret for the endpoint. The old one keeps signing beside it for ``expires_in_hours``
    (rolling again within that time drops the oldest one)."""
    if not 0 <= expires_in_hours <= MAX_OVERLAP_HOURS:
        raise invalid(
            f"expires_in_hours: from 0 (the old secret stops at once) to {MAX_OVERLAP_HOURS} (a week)",
            "expires_in_hours",
        )
    endpoint = get_endpoint(session, tenant, endpoint_id)
    at = now()
    if expires_in_hours:
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_expires_at = at + expires_in_hours * 3600
    else:
        endpoint.previous_secret, endpoint.previous_secret_expires_at = None, None
    endpoint.secret = new_webhook_secret()
    audit.record(
        session,
        tenant.organization_id,
        actor,
        "webhook_endpoint.secret_rolled",
        endpoint.id,
        environment=tenant.environment,
        previous_secret_expires_at=endpoint.previous_secret_expires_at,
    )
    session.commit()
    return endpoint


def delete_endpoint(session: Session, tenant: Tenant, endpoint_id: str) -> WebhookEndpoint:
    endpoint = get_endpoint(session, tenant, endpoint_id)
    endpoint.deleted_at = now()
    session.commit()
    return endpoint


def get_delivery(session: Session, tenant: Tenant, delivery_id: str) -> WebhookDelivery:
    return get_owned(session, WebhookDelivery, tenant, delivery_id, "resource_not_found", "webhook delivery")


def endpoint_deliveries(
    session: Session,
    tenant: Tenant,
    endpoint_id: str,
    page: Page,
    status: str | None = None,
    event_id: str | None = None,
) -> Sequence[WebhookDelivery]:
    """A page of the deliveries to one endpoint, newest first, optionally of one status or one event."""
    endpoint = get_endpoint(session, tenant, endpoint_id)
    query = filtered(
        scoped(WebhookDelivery, tenant).where(WebhookDelivery.endpoint_id == endpoint.id),
        {WebhookDelivery.status: status, WebhookDelivery.event_id: event_id},
    )
    return list_page(session, query, WebhookDelivery, page)


def attempts_of(session: Session, delivery_ids: Sequence[str]) -> dict[str, list[WebhookAttempt]]:
    """Every attempt of each delivery (already known to be the caller's), in order."""
    found: dict[str, list[WebhookAttempt]] = {d: [] for d in delivery_ids}
    if delivery_ids:
        rows = session.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id.in_(list(delivery_ids)))
            .order_by(WebhookAttempt.delivery_id, WebhookAttempt.attempt)
        )
        for attempt in rows:
            found[attempt.delivery_id].append(attempt)
    return found


def resend_delivery(
    session: Session, tenant: Tenant, delivery_id: str, actor: audit.Actor | None = None
) -> WebhookDelivery:
    """Send the same event to the same endpoint again, as a new delivery with its own attempts."""
    original = get_delivery(session, tenant, delivery_id)
    endpoint = get_endpoint(session, tenant, original.endpoint_id)
    if endpoint.status != WebhookEndpointStatus.ENABLED:
        raise conflict("bad_request", f"Webhook endpoint {endpoint.id} is disabled; enable it first")
    stored = session.scalar(select(Event).where(Event.id == original.event_id))
    assert stored is not None
    delivery = add_delivery(session, stored, endpoint, now(), resend_of=original.id)
    _audit(session, tenant, actor, "webhook_delivery.resent", delivery.id, resend_of=original.id)
    session.commit()
    return delivery


def list_endpoints(session: Session, tenant: Tenant, page: Page) -> Sequence[WebhookEndpoint]:
    return list_page(session, scoped(WebhookEndpoint, tenant), WebhookEndpoint, page)


def event_types(session: Session, tenant: Tenant, event_ids: set[str]) -> dict[str, str]:
    """The type of each of these events of the tenant's, by id."""
    query = scoped(Event, tenant).with_only_columns(Event.id, Event.type).where(Event.id.in_(event_ids))
    return {event_id: type_ for event_id, type_ in session.execute(query).all()}


def endpoints_delivery(
    session: Session, tenant: Tenant, endpoint_id: str, delivery_id: str
) -> WebhookDelivery:
    """The delivery, if it went to this endpoint of the tenant's; otherwise a 404 refusal."""
    endpoint = get_endpoint(session, tenant, endpoint_id)
    delivery = get_delivery(session, tenant, delivery_id)
    if delivery.endpoint_id != endpoint.id:
        raise not_found("resource_not_found", "webhook delivery", delivery_id)
    return delivery


@dataclass(frozen=True)
class DeliveryOverview:
    delivery: WebhookDelivery
    event: Event | None
    event_json: str
    attempts: list[WebhookAttempt]


def delivery_overview(
    session: Session, tenant: Tenant, endpoint_id: str, delivery_id: str
) -> DeliveryOverview:
    """One delivery to one endpoint, with the event it carried and every attempt."""
    delivery = endpoints_delivery(session, tenant, endpoint_id, delivery_id)
    event = session.scalar(scoped(Event, tenant).where(Event.id == delivery.event_id))
    return DeliveryOverview(
        delivery, event, event_json(event) if event else "", attempts_of(session, [delivery.id])[delivery.id]
    )


def resend_to_endpoint(
    session: Session, tenant: Tenant, endpoint_id: str, delivery_id: str, actor: audit.Actor | None = None
) -> WebhookDelivery:
    """``resend_delivery`` for a delivery named under its endpoint (another endpoint's: not found)."""
    delivery = endpoints_delivery(session, tenant, endpoint_id, delivery_id)
    return resend_delivery(session, tenant, delivery.id, actor)
