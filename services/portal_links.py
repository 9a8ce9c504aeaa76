"""Signing in to the contractor portal (``/my``): a one-time link emailed to the address on file, and the
server-side session it opens. No password.

- A link's token is 256 random bits; only its SHA-256 is kept (``portal_links``). It works for
  ``portal_link_lifetime_seconds`` (15 minutes) and signs in once: it is spent by one conditional update, so
  two clicks (or a click and an email scanner's replay) cannot both sign in.
- Asking for a link answers the same whether or not the address is on file: the email goes through the
  outbox (durable, retried), never from the request, and the front makes every answer take the same time.
- A session's token is 256 random bits too, kept hashed (``portal_sessions``); it ends at ``expires_at`` or
  when the contractor signs out, whatever the browser still holds.
- Whom a session is for is an email address (lower-cased): it sees every contractor record with that
  address, in every organization (services/portal.py)."""

import secrets
import time
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from common.settings import Settings
from common.tokens import token_digest
from db.engine import rows_changed
from db.models import Contractor, PortalLink, PortalSession, email_key
from notifications.catalog import EmailKind, PortalSignIn
from notifications.render import render_email
from outbox.records import STAFF_ENVIRONMENT, enqueue_email

MAX_EMAIL = 320


def _now() -> int:
    return int(time.time())


def portal_url(settings: Settings) -> str:
    """Where every email about money sends the contractor: the portal (it asks them to sign in)."""
    return f"{settings.public_base_url.rstrip('/')}/my"


def address_of(email: str) -> str:
    """The address as the portal keys it: trimmed, lower-cased (as contractor records key theirs)."""
    return email_key(email)[:MAX_EMAIL]


def _newest_record(session: Session, email: str) -> Contractor | None:
    return session.scalar(
        select(Contractor)
        .where(Contractor.email_key == email, Contractor.deleted_at.is_(None))
        .order_by(Contractor.seq.desc())
        .limit(1)
    )


def request_link(session: Session, settings: Settings, email: str) -> None:
    """Email a sign-in link when a contractor record has this address; nothing otherwise. The caller answers
    the same either way (and has counted the request against the address's and the client's limits)."""
    address = address_of(email)
    now = _now()
    token = secrets.token_urlsafe(32)
    link = PortalLink(
        token_hash=token_digest(token),
        email=address,
        created=now,
        expires_at=now + settings.portal_link_lifetime_seconds,
    )
    context = PortalSignIn(
        organization_name="gigcover",
        url=f"{settings.public_base_url.rstrip('/')}/my/link/{token}",
        expires_at=link.expires_at,
    )
    record = _newest_record(session, address) if address else None
    if record is None:
        render_email(EmailKind.PORTAL_SIGN_IN, context)  # the same work as for an address on file
        session.rollback()
        return
    session.add(link)
    enqueue_email(
        session,
        record.organization_id,
        STAFF_ENVIRONMENT,  # filed apart from every tenant's list: the contractor's own, not the platform's
        EmailKind.PORTAL_SIGN_IN,
        record.email,
        context,  # the service's own name: an organization's is chosen by whoever holds its (sandbox) key
        related={"contractor": record.id},
    )
    session.commit()


class LinkState(StrEnum):
    OPEN = "open"
    SPENT = "spent"
    EXPIRED = "expired"
    UNKNOWN = "unknown"


def link_state(session: Session, token: str) -> LinkState:
    """What the link's page offers (reads only: an email scanner opening it spends nothing)."""
    link = session.scalar(select(PortalLink).where(PortalLink.token_hash == token_digest(token)))
    session.rollback()
    if link is None:
        return LinkState.UNKNOWN
    if link.used_at is not None:
        return LinkState.SPENT
    if link.expires_at <= _now():
        return LinkState.EXPIRED
    return LinkState.OPEN


def sign_in(session: Session, settings: Settings, token: str) -> str | None:
    """Spend the link (once: one conditional update) and open a session; returns the session's token, or None
    when the link is unknown, spent or expired."""
    now = _now()
    spent = session.execute(
        update(PortalLink)
        .where(
            PortalLink.token_hash == token_digest(token),
            PortalLink.used_at.is_(None),
            PortalLink.expires_at > now,
        )
        .values(used_at=now)
    )
    if rows_changed(spent) != 1:
        session.rollback()
        return None
    link = session.scalar(select(PortalLink).where(PortalLink.token_hash == token_digest(token)))
    assert link is not None
    session_token = secrets.token_urlsafe(32)
    session.add(
        PortalSession(
            token_hash=token_digest(session_token),
            email=link.email,
            created=now,
            expires_at=now + settings.portal_session_seconds,
            setup_intents=0,
        )
    )
    session.commit()
    return session_token


@dataclass(frozen=True)
class SignedIn:
    session_id: int
    email: str


def signed_in(session: Session, token: str | None) -> SignedIn | None:
    """The live session of this cookie's token, or None (ended, expired, never was)."""
    if not token:
        return None
    row = session.scalar(select(PortalSession).where(PortalSession.token_hash == token_digest(token)))
    session.rollback()
    if row is None or row.ended_at is not None or row.expires_at <= _now():
        return None
    return SignedIn(row.id, row.email)


def sign_out(session: Session, token: str | None) -> None:
    if not token:
        return
    session.execute(
        update(PortalSession)
        .where(PortalSession.token_hash == token_digest(token), PortalSession.ended_at.is_(None))
        .values(ended_at=_now())
    )
    session.commit()
