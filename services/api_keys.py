"""API keys: issue, name, revoke and roll them, and find the key a request carries.

The API (``/api/v1/api_keys``, a key managing the keys of its own environment), the dashboard and
``manage.py`` call these same functions. Every change is written to the audit log in the same transaction,
never with the key itself: a key is shown once, when it is made or rolled, and only its SHA-256 is stored.
"""

import hashlib
import time
from dataclasses import dataclass

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from common.ids import new_id, random_base62
from db.engine import WriteLockBusy, committed_briefly, rows_changed
from db.models import ApiKey, Organization
from domain.api_keys import KEY_PREFIXES, KeyStatus, key_status
from domain.errors import DomainError, Refusal, conflict, invalid, not_found
from services import audit

MAX_NAME_LENGTH = 100
MAX_ROLL_HOURS = 168  # a rolled key works for at most a week more
DEFAULT_ROLL_HOURS = 24
LAST_USED_PRECISION = 60  # seconds: last_used_at is written at most once a minute per key


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def key_hint(key: str) -> str:
    return f"{key[:9]}…{key[-4:]}"


def new_key(organization_id: str, environment: str, name: str = "") -> tuple[ApiKey, str]:
    """A new API key's row (not yet added) and the key itself, which is stored only as its hash."""
    key = KEY_PREFIXES[environment] + random_base62(32)
    row = ApiKey(
        public_id=new_id("api_key"),
        organization_id=organization_id,
        environment=environment,
        name=name,
        key_hash=hash_key(key),
        key_hint=key_hint(key),
        created=int(time.time()),
    )
    return row, key


def issue_key(session: Session, organization_id: str, environment: str, name: str = "") -> str:
    row, key = new_key(organization_id, environment, name)
    session.add(row)
    return key


@dataclass(frozen=True)
class IssuedKey:
    """A key just made: its row, and the key itself, which is never shown again."""

    row: ApiKey
    key: str


def status_of(row: ApiKey, at: int | None = None) -> KeyStatus:
    """``active``, ``expiring`` (rolled, still working until ``expires_at``), ``expired`` or ``revoked``."""
    return key_status(row.revoked_at, row.expires_at, int(time.time()) if at is None else at)


def _name(name: str) -> str:
    cleaned = " ".join(name.split())
    if len(cleaned) > MAX_NAME_LENGTH:
        raise invalid(f"name: at most {MAX_NAME_LENGTH} characters", "name")
    if any(not c.isprintable() for c in cleaned):
        raise invalid("name: printable characters only", "name")
    return cleaned


def _environment(environment: str) -> str:
    if environment not in KEY_PREFIXES:
        raise invalid(f"environment: one of {', '.join(KEY_PREFIXES)}", "environment")
    return environment


def list_keys(session: Session, organization_id: str, environment: str | None = None) -> list[ApiKey]:
    """The organization's keys (of one environment, when given), newest first, revoked ones included."""
    query = select(ApiKey).where(ApiKey.organization_id == organization_id)
    if environment is not None:
        query = query.where(ApiKey.environment == environment)
    return list(session.scalars(query.order_by(ApiKey.id.desc())))


def get_key(session: Session, organization_id: str, key_id: str, environment: str | None = None) -> ApiKey:
    """One key by its ``ak_…`` id; a key of another organization (or environment, when given) does not
    exist for the caller."""
    query = select(ApiKey).where(ApiKey.public_id == key_id, ApiKey.organization_id == organization_id)
    if environment is not None:
        query = query.where(ApiKey.environment == environment)
    row = session.scalar(query)
    if row is None:
        raise not_found("resource_not_found", "API key", key_id)
    return row


def create_key(
    session: Session, organization_id: str, actor: audit.Actor, environment: str, name: str = ""
) -> IssuedKey:
    environment, name = _environment(environment), _name(name)
    if session.get(Organization, organization_id) is None:
        raise not_found("no_tenant_found", "organization", organization_id)
    row, key = new_key(organization_id, environment, name)
    session.add(row)
    session.flush()
    audit.record(
        session, organization_id, actor, "api_key.created", row.public_id, environment=environment, name=name
    )
    session.commit()
    return IssuedKey(row, key)


def rename_key(
    session: Session,
    organization_id: str,
    actor: audit.Actor,
    key_id: str,
    name: str,
    environment: str | None = None,
) -> ApiKey:
    row = get_key(session, organization_id, key_id, environment)
    name = _name(name)
    if name != row.name:
        audit.record(
            session,
            organization_id,
            actor,
            "api_key.renamed",
            row.public_id,
            environment=row.environment,
            before=row.name,
            after=name,
        )
        row.name = name
        session.commit()
    return row


def revoke_key(
    session: Session, organization_id: str, actor: audit.Actor, key_id: str, environment: str | None = None
) -> ApiKey:
    """The key stops working at once (401 ``invalid_api_key``); a rolled key still in its overlap too."""
    row = get_key(session, organization_id, key_id, environment)
    if row.revoked_at is not None:
        raise conflict("api_key_revoked", f"API key {key_id} is already revoked")
    row.revoked_at = int(time.time())
    audit.record(
        session, organization_id, actor, "api_key.revoked", row.public_id, environment=row.environment
    )
    session.commit()
    return row


def roll_key(
    session: Session,
    organization_id: str,
    actor: audit.Actor,
    key_id: str,
    expires_in_hours: int = DEFAULT_ROLL_HOURS,
    environment: str | None = None,
) -> IssuedKey:
    """A new key in place of ``key_id`` (same environment and name). The old one keeps working for
    ``expires_in_hours`` (0: it stops at once), so the platform can deploy the new key first."""
    if isinstance(expires_in_hours, bool) or not 0 <= expires_in_hours <= MAX_ROLL_HOURS:
        raise invalid(
            f"expires_in_hours: from 0 (the old key stops at once) to {MAX_ROLL_HOURS} (a week)",
            "expires_in_hours",
        )
    old = get_key(session, organization_id, key_id, environment)
    state = status_of(old)
    if state != KeyStatus.ACTIVE:
        stopped = state in (KeyStatus.REVOKED, KeyStatus.EXPIRED)
        raise conflict(
            "api_key_revoked" if stopped else "api_key_already_rolled",
            f"API key {key_id} is {state}: only an active key can be rolled"
            + (" (roll the key that replaced it)" if state == KeyStatus.EXPIRING else ""),
        )
    at = int(time.time())
    if expires_in_hours:
        old.expires_at = at + expires_in_hours * 3600
    else:
        old.revoked_at = at
    row, key = new_key(organization_id, old.environment, old.name)
    session.add(row)
    session.flush()
    audit.record(
        session,
        organization_id,
        actor,
        "api_key.rolled",
        old.public_id,
        environment=old.environment,
        replaced_by=row.public_id,
        old_key_expires_at=old.expires_at or old.revoked_at,
    )
    session.commit()
    return IssuedKey(row, key)


def authenticate(session: Session, key: str, at: int | None = None) -> ApiKey:
    """The row of a working key, or DomainError ``invalid_api_key``: unknown, revoked and expired keys
    are refused alike."""
    at = int(time.time()) if at is None else at
    row = session.scalar(
        select(ApiKey).where(
            ApiKey.key_hash == hash_key(key),
            ApiKey.revoked_at.is_(None),
            or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > at),
        )
    )
    if row is None:
        raise DomainError("invalid_api_key", "Invalid API key", kind=Refusal.INVALID)
    return row


def note_use(session: Session, row: ApiKey, at: int | None = None) -> bool:
    """Record that the key was used now, at most once a minute: a request within a minute of the last
    recorded use writes nothing. (Another process may record the same minute: the update is conditional,
    so only one write lands.) Bookkeeping, never in a request's way: it waits at most a quarter of a second
    for the database's write lock, and when that is taken the use goes unrecorded (the next request of the
    key records it). Commits when it writes; returns whether it did."""
    at = int(time.time()) if at is None else at
    if row.last_used_at is not None and at - row.last_used_at < LAST_USED_PRECISION:
        return False
    stale = or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at <= at - LAST_USED_PRECISION)
    try:
        with committed_briefly(session):
            result = session.execute(
                update(ApiKey).where(ApiKey.id == row.id, stale).values(last_used_at=at),
                execution_options={"synchronize_session": False},
            )
    except WriteLockBusy:
        return False
    set_committed_value(row, "last_used_at", at)  # as stored; not a change the next commit would write
    return rows_changed(result) > 0
