from typing import Any

from fastapi import APIRouter

from api.deps import AppSettings, CurrentActor, CurrentTenant, DbSession
from api.paging import PageParams, deleted_body
from services import lookups, webhooks
from services import representations as render
from services.lookups import get_endpoint
from services.webhooks import EndpointIn, EndpointUpdate, SecretRoll

router = APIRouter(prefix="/webhook_endpoints", tags=["webhook endpoints"])


@router.post("", status_code=201)
def create_webhook_endpoint(
    body: EndpointIn, settings: AppSettings, session: DbSession, tenant: CurrentTenant
) -> dict[str, Any]:
    """Production endpoints must be https on a public address; loopback, private, link-local, CGNAT,
    multicast and metadata addresses are refused (see the README's Security section)."""
    return render.webhook_endpoint(webhooks.create_endpoint(session, tenant, body, settings))


@router.get("")
def list_webhook_endpoints(
    session: DbSession, tenant: CurrentTenant, page: PageParams
) -> list[dict[str, Any]]:
    return [render.webhook_endpoint(w) for w in lookups.list_webhook_endpoints(session, tenant, page)]


@router.get("/{endpoint_id}")
def retrieve_webhook_endpoint(endpoint_id: str, session: DbSession, tenant: CurrentTenant) -> dict[str, Any]:
    return render.webhook_endpoint(get_endpoint(session, tenant, endpoint_id))


@router.put("/{endpoint_id}")
def update_webhook_endpoint(
    endpoint_id: str, body: EndpointUpdate, settings: AppSettings, session: DbSession, tenant: CurrentTenant
) -> dict[str, Any]:
    return render.webhook_endpoint(webhooks.update_endpoint(session, tenant, endpoint_id, body, settings))


@router.post("/{endpoint_id}/roll_secret")
def roll_webhook_secret(
    endpoint_id: str,
    session: DbSession,
    tenant: CurrentTenant,
    actor: CurrentActor,
    body: SecretRoll | None = None,
) -> dict[str, Any]:
    """A new signing secret (in ``secret``). Until ``previous_secret_expires_at`` (``expires_in_hours``,
    24 unless given) every delivery carries two ``v1=`` signatures, with the new and the old secret, so
    the receiver can switch without refusing a delivery."""
    hours = (body or SecretRoll()).expires_in_hours
    return render.webhook_endpoint(webhooks.roll_secret(session, tenant, endpoint_id, actor, hours))


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
    deliveries = webhooks.endpoint_deliveries(session, tenant, endpoint_id, page, status, event)
    return [render.webhook_delivery(d) for d in deliveries]


@router.delete("/{endpoint_id}")
def delete_webhook_endpoint(endpoint_id: str, session: DbSession, tenant: CurrentTenant) -> dict[str, Any]:
    return deleted_body(webhooks.delete_endpoint(session, tenant, endpoint_id), "webhook_endpoint")
