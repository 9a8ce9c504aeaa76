"""Request dependencies: the database session and the caller's tenant (organization + environment)."""

import base64
import binascii
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from api.client_address import client_address
from api.errors import ApiError, invalid_input
from api.throttle import SharedCounter
from api.workflow_calls import workflows
from common.logs import add_log_context
from common.schemas import has_nul
from common.settings import Settings
from db.models import ApiKey, Organization
from domain.errors import DomainError
from outbox.records import committed_items
from services import api_keys
from services.audit import Actor
from services.tenancy import Tenant
from services.workflow_calls import WorkflowCalls


def no_nul_in_parameters(request: Request) -> None:
    """Query and path parameters are text too: NUL characters are refused before any lookup."""
    values = [*request.query_params.values(), *request.path_params.values()]
    if has_nul(values):
        raise invalid_input("parameters must not contain NUL characters")


def get_session(request: Request) -> Iterator[Session]:
    """A session per request. Once the route has committed, the webhook deliveries and emails it wrote
    get their workflows (runs in the threadpool, like the route)."""
    with request.app.state.session_factory() as session:
        yield session
        request.app.state.dispatcher.dispatch_from_thread(committed_items(session))


# "function": the session closes (and the workflows of what it committed start) before the response is
# sent, so a client that hears 201 can at once call the workflow it started.
DbSession = Annotated[Session, Depends(get_session, scope="function")]
Workflows = Annotated[WorkflowCalls, Depends(workflows)]


def settings_of(request: Request) -> Settings:
    return request.app.state.settings


AppSettings = Annotated[Settings, Depends(settings_of)]


def api_key_from_header(authorization: str | None) -> str | None:
    """The key from ``Bearer <key>``, ``Basic base64(<key>:)`` or a bare key (older docs)."""
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() == "bearer":
        return value.strip() or None
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.split(":", 1)[0] or None
    return authorization.strip() if not value else None


def get_tenant(request: Request, session: DbSession) -> Tenant:
    """The caller's organization and environment, from a working API key (unknown, revoked and expired
    keys get 401). Each key's requests are rate limited across every API process (429 ``rate_limit`` with
    ``Retry-After``), and its ``last_used_at`` is kept to the minute."""
    key = api_key_from_header(request.headers.get("authorization"))
    if key is None:
        raise ApiError(401, "invalid_api_key", "No API key provided: send 'Authorization: Bearer <key>'")
    try:
        row = api_keys.authenticate(session, key)
    except DomainError:
        raise ApiError(401, "invalid_api_key", "Invalid API key") from None
    organization = session.get(Organization, row.organization_id)
    if organization is None:
        raise ApiError(401, "no_tenant_found", "This API key belongs to no organization")
    limiter: SharedCounter = request.app.state.api_rate_limit
    wait = limiter.hit(session, f"key:{row.public_id}")
    if wait is not None:
        raise ApiError(
            429,
            "rate_limit",
            f"Too many requests with this API key: at most {limiter.limit} per {limiter.window} s. "
            f"Retry after {wait} s.",
            headers={"Retry-After": str(wait)},
        )
    api_keys.note_use(session, row)
    request.state.api_key = row
    add_log_context(organization_id=organization.id, environment=row.environment)
    return Tenant(organization, row.environment)


CurrentTenant = Annotated[Tenant, Depends(get_tenant)]


def get_actor(request: Request, _tenant: CurrentTenant) -> Actor:
    """Who the audit log says made a change through the API: the key (by its hint) and the address."""
    row: ApiKey = request.state.api_key
    return Actor(f"API key {row.key_hint}", ip_address=client_address(request.scope))


CurrentActor = Annotated[Actor, Depends(get_actor)]
