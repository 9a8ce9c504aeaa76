"""Webhooks: the organization's endpoints (add, edit events, disable and enable, roll the secret, which is
shown once), each endpoint's deliveries with every attempt, and resending one. Everyone reads; admins change.
Every change goes through services.webhooks, the functions the API's /webhook_endpoints and
/webhook_deliveries call."""

from functools import partial
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse

from api.dashboard.auth import Admin, CurrentViewer, Viewer
from api.dashboard.paging import window
from api.dashboard.rendering import form_model, page, redirect, refused
from api.deps import AppSettings, DbSession
from domain.errors import DomainError
from domain.events import EVENT_TYPES
from domain.statuses import DeliveryStatus
from services import webhooks
from services.lookups import get_endpoint
from services.webhooks import EndpointIn, EndpointUpdate

if TYPE_CHECKING:
    from db.models import WebhookEndpoint

router = APIRouter()
BASE = "/dashboard/webhooks"
OVERLAP_CHOICES = (0, 1, 24, 72, 168)  # hours the rolled secret keeps signing beside the new one
Events = Annotated[list[str], Form(max_length=80)]


def secret_hint(secret: str) -> str:
    return f"{secret[:6]}…{secret[-4:]}"


def _events_field(chosen: list[str]) -> list[str] | str:
    """The form's checkboxes as the API's ``events``: "*" when "All events" is ticked."""
    return "*" if "*" in chosen else chosen


def _list(
    request: Request,
    session: DbSession,
    viewer: Viewer,
    starting_after: str | None = None,
    ending_before: str | None = None,
    status: int = 200,
    **context: Any,
) -> Response:
    endpoints = window(
        lambda p: webhooks.list_endpoints(session, viewer.tenant, p),
        BASE,
        starting_after,
        ending_before,
    )
    form = context.pop("form", {"events": ["*"]})
    return page(
        request,
        "webhooks.html",
        status,
        endpoints=endpoints,
        event_types=sorted(EVENT_TYPES),
        form=form,
        **context,
    )


@router.get("/webhooks", response_class=HTMLResponse)
def endpoints(
    request: Request,
    session: DbSession,
    viewer: CurrentViewer,
    starting_after: str | None = None,
    ending_before: str | None = None,
) -> Response:
    return _list(request, session, viewer, starting_after, ending_before)


@router.post("/webhooks")
def add_endpoint(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    viewer: Admin,
    url: Annotated[str, Form(max_length=2048)] = "",
    description: Annotated[str, Form(max_length=500)] = "",
    events: Events = [],  # noqa: B006 (FastAPI copies form defaults)
) -> Response:
    try:
        body = form_model(EndpointIn, url=url, description=description or None, events=_events_field(events))
        endpoint = webhooks.create_endpoint(session, viewer.tenant, body, settings, viewer.actor)
    except DomainError as error:
        form = {"url": url, "description": description, "events": events}
        return refused(session, error, partial(_list, request, session, viewer), form=form)
    return _endpoint(request, session, viewer, endpoint, 201, revealed=endpoint.secret, revealed_on="created")


def _endpoint(
    request: Request,
    session: DbSession,
    viewer: Viewer,
    endpoint: "WebhookEndpoint",
    status: int = 200,
    starting_after: str | None = None,
    ending_before: str | None = None,
    delivery_status: str | None = None,
    **context: Any,
) -> Response:
    if delivery_status not in set(DeliveryStatus):
        delivery_status = None
    deliveries = window(
        lambda p: webhooks.endpoint_deliveries(session, viewer.tenant, endpoint.id, p, delivery_status),
        f"{BASE}/{endpoint.id}",
        starting_after,
        ending_before,
        {"status": delivery_status},
    )
    ids = [d.id for d in deliveries.rows]
    types = webhooks.event_types(session, viewer.tenant, {d.event_id for d in deliveries.rows})
    return page(
        request,
        "webhook_endpoint.html",
        status,
        endpoint=endpoint,
        secret_hint=secret_hint(endpoint.secret),
        deliveries=deliveries,
        attempts=webhooks.attempts_of(session, ids),
        types=types,
        event_types=sorted(EVENT_TYPES),
        statuses=list(DeliveryStatus),
        delivery_status=delivery_status,
        overlaps=OVERLAP_CHOICES,
        **context,
    )


@router.get("/webhooks/{endpoint_id}", response_class=HTMLResponse)
def endpoint_page(
    request: Request,
    session: DbSession,
    viewer: CurrentViewer,
    endpoint_id: str,
    status: str | None = None,
    starting_after: str | None = None,
    ending_before: str | None = None,
) -> Response:
    endpoint = get_endpoint(session, viewer.tenant, endpoint_id)
    return _endpoint(
        request, session, viewer, endpoint, 200, starting_after, ending_before, delivery_status=status
    )


def _update(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    viewer: Viewer,
    endpoint_id: str,
    fields: dict[str, Any],
) -> Response:
    endpoint = get_endpoint(session, viewer.tenant, endpoint_id)  # another organization's: the 404 page
    try:
        body = form_model(EndpointUpdate, **fields)
        webhooks.update_endpoint(session, viewer.tenant, endpoint.id, body, settings, viewer.actor)
    except DomainError as error:
        return refused(session, error, partial(_endpoint, request, session, viewer, endpoint))
    return redirect(f"{BASE}/{endpoint.id}", "saved")


@router.post("/webhooks/{endpoint_id}/edit")
def edit_endpoint(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    viewer: Admin,
    endpoint_id: str,
    url: Annotated[str, Form(max_length=2048)] = "",
    description: Annotated[str, Form(max_length=500)] = "",
    events: Events = [],  # noqa: B006
) -> Response:
    fields = {"url": url, "description": description or None, "events": _events_field(events)}
    return _update(request, session, settings, viewer, endpoint_id, fields)


@router.post("/webhooks/{endpoint_id}/status")
def change_status(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    viewer: Admin,
    endpoint_id: str,
    status: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    return _update(request, session, settings, viewer, endpoint_id, {"status": status})


@router.post("/webhooks/{endpoint_id}/roll-secret")
def roll_secret(
    request: Request,
    session: DbSession,
    viewer: Admin,
    endpoint_id: str,
    expires_in_hours: Annotated[str, Form(max_length=6)] = "24",
) -> Response:
    endpoint = get_endpoint(session, viewer.tenant, endpoint_id)
    try:
        body = form_model(webhooks.SecretRoll, expires_in_hours=expires_in_hours)
        webhooks.roll_secret(session, viewer.tenant, endpoint.id, viewer.actor, body.expires_in_hours)
    except DomainError as error:
        return refused(session, error, partial(_endpoint, request, session, viewer, endpoint))
    return _endpoint(request, session, viewer, endpoint, revealed=endpoint.secret, revealed_on="rolled")


@router.get("/webhooks/{endpoint_id}/deliveries/{delivery_id}", response_class=HTMLResponse)
def delivery_page(
    request: Request, session: DbSession, viewer: CurrentViewer, endpoint_id: str, delivery_id: str
) -> Response:
    shown = webhooks.delivery_overview(session, viewer.tenant, endpoint_id, delivery_id)
    return page(
        request,
        "webhook_delivery.html",
        delivery=shown.delivery,
        event=shown.event,
        event_json=shown.event_json,
        attempts=shown.attempts,
    )


@router.post("/webhooks/{endpoint_id}/deliveries/{delivery_id}/resend")
def resend(
    request: Request, session: DbSession, viewer: Admin, endpoint_id: str, delivery_id: str
) -> Response:
    try:
        sent = webhooks.resend_to_endpoint(session, viewer.tenant, endpoint_id, delivery_id, viewer.actor)
    except DomainError as error:
        endpoint = partial(_endpoint_by_id, request, session, viewer, endpoint_id)
        return refused(session, error, endpoint, not_found_page=True)
    return redirect(f"{BASE}/{endpoint_id}/deliveries/{sent.id}", "resent")


def _endpoint_by_id(
    request: Request, session: DbSession, viewer: Viewer, endpoint_id: str, **context: Any
) -> Response:
    return _endpoint(request, session, viewer, get_endpoint(session, viewer.tenant, endpoint_id), **context)
