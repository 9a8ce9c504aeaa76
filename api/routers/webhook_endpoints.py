from typing import Any, Literal

from fastapi import APIRouter
from pydantic import AnyHttpUrl, Field, field_validator
from sqlalchemy.orm import Session

from api.deps import CurrentTenant, DbSession, Tenant
from api.errors import invalid_input
from api.queries import PageParams, deleted_body, filtered, get_owned, list_page, now, scoped
from api.schemas import Strict
from common import representations as render
from common.ids import new_id, new_webhook_secret
from db.models import WebhookDelivery, WebhookEndpoint
from domain.events import EVENT_TYPES

router = APIRouter(prefix="/webhook_endpoints", tags=["webhook endpoints"])


def _event_list(value: Any) -> Any:
    if value is None or value == "*" or value == ["*"]:
        return ["*"]
    if isinstance(value, list):
        if not all(isinstance(v, str) for v in value):
            raise ValueError('event types are strings, e.g. "policy.active"')
        unknown = sorted({v for v in value if v not in EVENT_TYPES})
        if unknown:
            raise ValueError(f"unknown event types: {', '.join(map(str, unknown))}")
        return sorted(set(value))
    raise ValueError("a list of event types, or '*' for all")


class EndpointIn(Strict):
    url: AnyHttpUrl
    description: str | None = Field(None, max_length=500)
    events: list[str] | str | None = None

    _events = field_validator("events", mode="before")(_event_list)


class EndpointUpdate(Strict):
    url: AnyHttpUrl | None = None
    description: str | None = Field(None, max_length=500)
    events: list[str] | str | None = None
    status: Literal["enabled", "disabled"] | None = Field(
        None, description="A disabled endpoint gets no new deliveries, and its pending ones stop retrying."
    )
    disabled: bool | None = Field(None, description="Shorthand for status.")

    _events = field_validator("events", mode="before")(_event_list)


def get_endpoint(session: Session, tenant: Tenant, endpoint_id: str) -> WebhookEndpoint:
    return get_owned(
        session, WebhookEndpoint, tenant, endpoint_id, "invalid_webhook_endpoint_id", "webhook endpoint"
    )


@router.post("", status_code=201)
def create_webhook_endpoint(body: EndpointIn, session: DbSession, tenant: CurrentTenant) -> dict[str, Any]:
    endpoint = WebhookEndpoint(
        id=new_id("webhook_endpoint"),
        organization_id=tenant.organization_id,
        environment=tenant.environment,
        created=now(),
        url=str(body.url),
        description=body.description,
        events=body.events or ["*"],
        secret=new_webhook_secret(),
    )
    session.add(endpoint)
    session.commit()
    return render.webhook_endpoint(endpoint)


@router.get("")
def list_webhook_endpoints(
    session: DbSession, tenant: CurrentTenant, page: PageParams
) -> list[dict[str, Any]]:
    query = scoped(WebhookEndpoint, tenant)
    return [render.webhook_endpoint(w) for w in list_page(session, query, WebhookEndpoint, page)]


@router.get("/{endpoint_id}")
def retrieve_webhook_endpoint(endpoint_id: str, session: DbSession, tenant: CurrentTenant) -> dict[str, Any]:
    return render.webhook_endpoint(get_endpoint(session, tenant, endpoint_id))


@router.put("/{endpoint_id}")
def update_webhook_endpoint(
    endpoint_id: str, body: EndpointUpdate, session: DbSession, tenant: CurrentTenant
) -> dict[str, Any]:
    endpoint = get_endpoint(session, tenant, endpoint_id)
    changes = body.model_dump(exclude_unset=True)
    if "url" in changes:
        if changes["url"] is None:
            raise invalid_input("url: cannot be removed")
        endpoint.url = str(changes["url"])
    if "description" in changes:
        endpoint.description = changes["description"]
    if "events" in changes:
        endpoint.events = changes["events"]
    if changes.get("status") is not None:
        endpoint.status = changes["status"]
    if changes.get("disabled") is not None:
        endpoint.status = "disabled" if changes["disabled"] else "enabled"
    session.commit()
    return render.webhook_endpoint(endpoint)


@router.get("/{endpoint_id}/deliveries")
def list_endpoint_deliveries(
    endpoint_id: str,
    session: DbSession,
    tenant: CurrentTenant,
    page: PageParams,
    status: str | None = None,
    event: str | None = None,
) -> list[dict[str, Any]]:
    """Every delivery to this endpoint, newest first (``status``: pending, delivered, failed, cancelled)."""
    endpoint = get_endpoint(session, tenant, endpoint_id)
    query = filtered(
        scoped(WebhookDelivery, tenant).where(WebhookDelivery.endpoint_id == endpoint.id),
        {WebhookDelivery.status: status, WebhookDelivery.event_id: event},
    )
    return [render.webhook_delivery(d) for d in list_page(session, query, WebhookDelivery, page)]


@router.delete("/{endpoint_id}")
def delete_webhook_endpoint(endpoint_id: str, session: DbSession, tenant: CurrentTenant) -> dict[str, Any]:
    endpoint = get_endpoint(session, tenant, endpoint_id)
    endpoint.deleted_at = now()
    session.commit()
    return deleted_body(endpoint, "webhook_endpoint")
