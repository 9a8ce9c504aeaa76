"""The audit log: every change made in the dashboard, and every change to an API key, with who made it,
when and from which address. An entry is written in the same transaction as the change it records."""

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import AuditEntry
from services.tenancy import Tenant


@dataclass(frozen=True)
class Actor:
    """Who made a change: a dashboard member, an API key, or an operator at the command line."""

    label: str  # the member's email, "API key t9k_test_…abcd", "manage.py"
    member_id: str | None = None
    ip_address: str = ""


COMMAND_LINE = Actor("manage.py")


def record(
    session: Session,
    organization_id: str,
    actor: Actor,
    action: str,
    target: str = "",
    *,
    environment: str | None = None,
    **detail: Any,
) -> AuditEntry:
    """Add an entry (the caller commits it with the change). ``detail`` must never hold a secret."""
    entry = AuditEntry(
        organization_id=organization_id,
        environment=environment,
        member_id=actor.member_id,
        actor=actor.label,
        action=action,
        target=target,
        detail=detail,
        ip_address=actor.ip_address,
        at=int(time.time()),
    )
    session.add(entry)
    return entry


def record_change(
    session: Session,
    tenant: Tenant,
    actor: Actor | None,
    action: str,
    target: str = "",
    *,
    organization_wide: bool = False,
    **detail: Any,
) -> AuditEntry | None:
    """A service's change made by a member in the dashboard (``actor`` given; the API's are not recorded),
    added to the change's own transaction: the service commits both at once. ``organization_wide`` changes
    belong to no environment."""
    if actor is None:
        return None
    environment = None if organization_wide else tenant.environment
    return record(session, tenant.organization_id, actor, action, target, environment=environment, **detail)


def entries(
    session: Session, organization_id: str, *, limit: int = 50, before_id: int | None = None
) -> list[AuditEntry]:
    """The organization's entries, newest first; ``before_id`` pages back."""
    query = select(AuditEntry).where(AuditEntry.organization_id == organization_id)
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    return list(session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit)))
