"""The organization's API keys, as a key of one environment sees them: the keys of that environment only
(a sandbox key never sees or changes production keys)."""

from typing import Any

from fastapi import APIRouter
from pydantic import Field

from api.deps import CurrentActor, CurrentTenant, DbSession
from common.schemas import Strict
from services import api_keys
from services import representations as render

router = APIRouter(prefix="/api_keys", tags=["api keys"])


class KeyIn(Strict):
    name: str = Field("", description="What the key is for, e.g. 'payroll service'.")


class KeyRename(Strict):
    name: str


class KeyRoll(Strict):
    expires_in_hours: int = Field(
        api_keys.DEFAULT_ROLL_HOURS,
        description="How long the old key keeps working, so the new one can be deployed first: 0 (it "
        f"stops at once) to {api_keys.MAX_ROLL_HOURS}.",
    )


@router.get("")
def list_api_keys(session: DbSession, tenant: CurrentTenant) -> list[dict[str, Any]]:
    """Every key of this environment, newest first, with its status and when it was last used (to the
    minute)."""
    keys = api_keys.list_keys(session, tenant.organization_id, tenant.environment)
    return [render.api_key(k) for k in keys]


@router.post("", status_code=201)
def create_api_key(
    session: DbSession, tenant: CurrentTenant, actor: CurrentActor, body: KeyIn | None = None
) -> dict[str, Any]:
    """A new key of this environment. ``key`` is in this answer only: it is stored as a hash."""
    name = body.name if body else ""
    issued = api_keys.create_key(session, tenant.organization_id, actor, tenant.environment, name)
    return render.api_key(issued.row, issued.key)


@router.get("/{key_id}")
def retrieve_api_key(key_id: str, session: DbSession, tenant: CurrentTenant) -> dict[str, Any]:
    return render.api_key(api_keys.get_key(session, tenant.organization_id, key_id, tenant.environment))


@router.put("/{key_id}")
def rename_api_key(
    key_id: str, body: KeyRename, session: DbSession, tenant: CurrentTenant, actor: CurrentActor
) -> dict[str, Any]:
    row = api_keys.rename_key(session, tenant.organization_id, actor, key_id, body.name, tenant.environment)
    return render.api_key(row)


@router.post("/{key_id}/revoke")
def revoke_api_key(
    key_id: str, session: DbSession, tenant: CurrentTenant, actor: CurrentActor
) -> dict[str, Any]:
    """The key stops working at once: every request with it gets 401 ``invalid_api_key``."""
    row = api_keys.revoke_key(session, tenant.organization_id, actor, key_id, tenant.environment)
    return render.api_key(row)


@router.post("/{key_id}/roll")
def roll_api_key(
    key_id: str, session: DbSession, tenant: CurrentTenant, actor: CurrentActor, body: KeyRoll | None = None
) -> dict[str, Any]:
    """A new key in place of this one; the answer is the new key, with ``key`` shown this once. The old
    key keeps working for ``expires_in_hours`` (24 unless given)."""
    hours = (body or KeyRoll()).expires_in_hours
    issued = api_keys.roll_key(session, tenant.organization_id, actor, key_id, hours, tenant.environment)
    return render.api_key(issued.row, issued.key)
