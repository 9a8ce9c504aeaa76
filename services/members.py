"""The dashboard's people: invitations, passwords (argon2id), sign-in with throttling, server-side
sessions, password resets, roles. No HTTP here: the dashboard's pages and ``manage.py`` call these."""

import secrets
import time
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import EmailStr, Field
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.orm.attributes import set_committed_value

from common.ids import new_id
from common.schemas import Strict
from common.tokens import token_digest
from db.engine import WriteLockBusy, committed_briefly
from db.models import Member, MemberSession, MemberToken, Organization, ResetRequest, SignInAttempt
from domain.errors import DomainError, Refusal, invalid
from domain.roles import Role
from notifications.catalog import EmailKind, MemberInvitation, PasswordReset
from outbox.records import STAFF_ENVIRONMENT, enqueue_email
from services.audit import Actor, record

HASHER = PasswordHasher()  # argon2id with the library's current recommended parameters
INVITATION_SECONDS = 7 * 86_400
RESET_SECONDS = 3_600
IDLE_SECONDS = 8 * 3_600
THROTTLE_WINDOW = 15 * 60
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_ADDRESS = 20
MIN_PASSWORD = 12
# Password resets: at most this many emails to one member, and this many requests from one address, an hour.
RESET_WINDOW = 3_600
RESETS_PER_MEMBER = 3
RESET_REQUESTS_PER_ADDRESS = 30
# An invitation to an address that already has an account in another organization is held: the team shows
# it as invited, as any other, but its row's email carries this mark and nothing is sent (see ``invite``).
HELD = "#held-"
INVITATION, RESET = "invitation", "reset"
# Emails about the dashboard are staff mail (members are not per environment, nor tenant data): filed
# apart from every sandbox and production list, with the link withheld from the stored copy.
MAIL_ENVIRONMENT = STAFF_ENVIRONMENT
WRONG = "The email or password is not right."


def _now() -> int:
    return int(time.time())


class NewMember(Strict):
    email: EmailStr
    name: str = Field("", max_length=200)
    role: Role


class Password(Strict):
    password: str = Field(max_length=1024)


def _checked_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise invalid(f"password: use at least {MIN_PASSWORD} characters", "password")
    return HASHER.hash(password)


def _member_by_email(session: Session, email: str) -> Member | None:
    return session.scalar(select(Member).where(func.lower(Member.email) == email.strip().lower()))


def _use_up_links(session: Session, member_id: str, purpose: str | None = None) -> None:
    """Make the member's unused links (of ``purpose``, or all) stop working."""
    query = update(MemberToken).where(MemberToken.member_id == member_id, MemberToken.used_at.is_(None))
    if purpose is not None:
        query = query.where(MemberToken.purpose == purpose)
    session.execute(query.values(used_at=_now()))


def _issue_token(session: Session, member: Member, purpose: str, seconds: int) -> tuple[str, int]:
    """A new link; the member's older unused links of the same purpose stop working."""
    _use_up_links(session, member.id, purpose)
    token = secrets.token_urlsafe(32)
    expires = _now() + seconds
    session.add(
        MemberToken(
            token_hash=token_digest(token),
            purpose=purpose,
            member_id=member.id,
            created=_now(),
            expires_at=expires,
        )
    )
    return token, expires


def create_member(
    session: Session, organization_id: str, body: NewMember, password: str | None, actor: Actor
) -> Member:
    """A member of the organization; with a password they can sign in at once (``manage.py create-user``)."""
    if _member_by_email(session, str(body.email)) is not None:
        raise DomainError(
            "member_exists", f"{body.email} already has a dashboard account", "email", Refusal.CONFLICT
        )
    member = Member(
        id=new_id("member"),
        organization_id=organization_id,
        email=str(body.email).lower(),
        name=body.name,
        role=body.role.value,
        password_hash=_checked_password(password) if password is not None else None,
        created=_now(),
    )
    session.add(member)
    record(session, organization_id, actor, "member.created", member.id, email=member.email, role=member.role)
    return member


def _held_invitation(session: Session, organization_id: str, email: str) -> Member | None:
    return session.scalar(
        select(Member).where(
            Member.organization_id == organization_id,
            Member.removed_at.is_(None),
            func.lower(Member.email).startswith(f"{email.strip().lower()}{HELD}", autoescape=True),
        )
    )


def _hold_invitation(session: Session, organization_id: str, body: NewMember, actor: Actor) -> Member:
    """The answer to inviting an address that has an account in another organization, which the inviter
    must not learn: a row like any invited member's (the team lists it as invited), whose email carries the
    ``HELD`` mark so it never signs in, and no email (the address's owner gets nothing)."""
    member_id = new_id("member")
    address = str(body.email).lower()
    member = Member(
        id=member_id,
        organization_id=organization_id,
        email=f"{address}{HELD}{member_id}",
        name=body.name,
        role=body.role.value,
        password_hash=None,
        created=_now(),
    )
    session.add(member)
    record(session, organization_id, actor, "member.created", member.id, email=address, role=member.role)
    record(session, organization_id, actor, "member.invited", member.id, email=address)
    session.commit()
    return member


def invite(session: Session, organization_id: str, body: NewMember, actor: Actor, base_url: str) -> Member:
    """Add a member and email them a one-use link (valid a week) to choose their password. The answer does
    not tell whether the address has an account in another organization (members' addresses are unique
    across organizations, as sign-in takes an address and a password): such an invitation is held."""
    if _held_invitation(session, organization_id, str(body.email)) is not None:
        raise DomainError(
            "member_exists", f"{body.email} already has a dashboard account", "email", Refusal.CONFLICT
        )
    elsewhere = _member_by_email(session, str(body.email))
    if elsewhere is not None and elsewhere.organization_id != organization_id:
        return _hold_invitation(session, organization_id, body, actor)
    member = create_member(session, organization_id, body, None, actor)
    session.flush()
    token, expires = _issue_token(session, member, INVITATION, INVITATION_SECONDS)
    org = session.get(Organization, organization_id)
    assert org is not None
    enqueue_email(
        session,
        organization_id,
        MAIL_ENVIRONMENT,
        EmailKind.MEMBER_INVITATION,
        member.email,
        MemberInvitation(
            organization_name=org.name,
            invited_by=actor.label,
            role=member.role,
            url=f"{base_url}/dashboard/invitation/{token}",
            expires_at=expires,
        ),
        related={"member": member.id},
    )
    record(session, organization_id, actor, "member.invited", member.id, email=member.email)
    session.commit()
    return member


def _usable_token(session: Session, token: str, purpose: str) -> MemberToken:
    row = session.scalar(select(MemberToken).where(MemberToken.token_hash == token_digest(token)))
    if row is None or row.purpose != purpose or row.used_at is not None:
        raise DomainError("link_invalid", "This link is not valid (it may have been used already).")
    if row.expires_at < _now():
        raise DomainError("link_expired", "This link has expired: ask for a new one.")
    return row


def token_member(session: Session, token: str, purpose: str) -> Member:
    """Whose link this is (refusing a used, expired or unknown one), for the page that shows the form."""
    member = session.get(Member, _usable_token(session, token, purpose).member_id)
    if member is None or member.removed_at is not None:
        raise DomainError("link_invalid", "This link is not valid any more.")
    return member


def link_organization_name(session: Session, member: Member) -> str:
    """The name of the organization a link's member belongs to, for the page that shows the form."""
    org = session.get(Organization, member.organization_id)
    return org.name if org else ""


def set_password_from_link(session: Session, token: str, purpose: str, body: Password) -> Member:
    """Accept an invitation or a reset: set the password, use up the link, end every session."""
    row = _usable_token(session, token, purpose)
    member = token_member(session, token, purpose)
    member.password_hash = _checked_password(body.password)
    row.used_at = _now()
    _use_up_links(session, member.id)  # an older reset (or invitation) link must not work after this one
    _end_sessions_of(session, member.id)
    record(session, member.organization_id, Actor(member.email, member.id), f"member.password_set.{purpose}")
    session.commit()
    return member


def _resets_sent(session: Session, member_id: str, since: int) -> int:
    return session.scalars(
        select(func.count())
        .select_from(MemberToken)
        .where(MemberToken.member_id == member_id, MemberToken.purpose == RESET, MemberToken.created >= since)
    ).one()


def _count_reset_request(session: Session, ip_address: str) -> bool:
    """Record a request from this address, unless it made RESET_REQUESTS_PER_ADDRESS in the last hour
    (then False; a flood writes no more rows)."""
    since = _now() - RESET_WINDOW
    session.execute(
        delete(ResetRequest).where(ResetRequest.ip_address == ip_address, ResetRequest.at < since)
    )
    made = session.scalars(
        select(func.count()).select_from(ResetRequest).where(ResetRequest.ip_address == ip_address)
    ).one()
    if made >= RESET_REQUESTS_PER_ADDRESS:
        session.commit()
        return False
    session.add(ResetRequest(ip_address=ip_address, at=_now()))
    session.commit()
    return True


def request_password_reset(session: Session, email: str, base_url: str, ip_address: str) -> None:
    """Email a reset link if the account exists; the answer is the same either way (no account probing).
    At most RESETS_PER_MEMBER emails to one member and RESET_REQUESTS_PER_ADDRESS requests from one address
    an hour: past either, nothing is sent, and the answer is still the same."""
    if not _count_reset_request(session, ip_address):
        return
    member = _member_by_email(session, email)
    if member is None or member.removed_at is not None or member.password_hash is None:
        return
    if _resets_sent(session, member.id, _now() - RESET_WINDOW) >= RESETS_PER_MEMBER:
        return
    token, expires = _issue_token(session, member, RESET, RESET_SECONDS)
    org = session.get(Organization, member.organization_id)
    assert org is not None
    enqueue_email(
        session,
        member.organization_id,
        MAIL_ENVIRONMENT,
        EmailKind.PASSWORD_RESET,
        member.email,
        PasswordReset(
            organization_name=org.name, url=f"{base_url}/dashboard/reset/{token}", expires_at=expires
        ),
        related={"member": member.id},
    )
    session.commit()


# Signing in ---------------------------------------------------------------------------------------------


def _attempts(session: Session, column: InstrumentedAttribute[str], value: str, since: int) -> int:
    return session.scalars(
        select(func.count()).select_from(SignInAttempt).where(column == value, SignInAttempt.at >= since)
    ).one()


def _record_attempt(session: Session, email: str, ip_address: str) -> SignInAttempt:
    """Record this try (committed) before any password is looked at. Concurrent tries each commit their own
    row first, so each one counts every try committed before it, itself included: however many arrive at
    once, no more than the limit get as far as a password check."""
    attempt = SignInAttempt(email=email, ip_address=ip_address, at=_now())
    session.add(attempt)
    session.commit()
    return attempt


def _throttled(session: Session, email: str, ip_address: str) -> bool:
    since = _now() - THROTTLE_WINDOW
    return (
        _attempts(session, SignInAttempt.email, email, since) > MAX_FAILURES_PER_ACCOUNT
        or _attempts(session, SignInAttempt.ip_address, ip_address, since) > MAX_FAILURES_PER_ADDRESS
    )


def _password_matches(member: Member | None, password: str) -> bool:
    if member is None or not member.password_hash or member.removed_at is not None:
        HASHER.hash(password)  # the same work as a wrong password: timing tells nothing about accounts
        return False
    try:
        return HASHER.verify(member.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def authenticate(session: Session, email: str, password: str, ip_address: str) -> Member:
    """The member whose email and password these are. Every try is recorded first and counted per account
    and per address (a right password clears the account's count, a refused try takes its own back); past
    the limit every try is refused for a while, right or wrong, without looking at the password, so guessing
    does not pay, however many guesses arrive at once."""
    email = email.strip().lower()
    attempt = _record_attempt(session, email, ip_address)
    if _throttled(session, email, ip_address):
        session.delete(attempt)  # a refused try checked nothing: only checked passwords count
        session.commit()
        raise DomainError(
            "too_many_attempts",
            "Too many failed sign-ins: wait 15 minutes, or reset your password.",
            kind=Refusal.CONFLICT,
        )
    member = _member_by_email(session, email)
    if not _password_matches(member, password) or member is None:
        raise DomainError("wrong_credentials", WRONG, "password")  # the recorded try stays: a failure
    if HASHER.check_needs_rehash(member.password_hash or ""):
        member.password_hash = HASHER.hash(password)
    session.execute(delete(SignInAttempt).where(SignInAttempt.email == email))
    member.last_sign_in_at = _now()
    return member


@dataclass(frozen=True)
class SignedIn:
    member: Member
    organization: Organization
    row: MemberSession


def start_session(session: Session, member: Member, environment: str, ip_address: str) -> str:
    """A new server-side session; returns the token the cookie carries (only its hash is kept)."""
    token = secrets.token_urlsafe(32)
    now = _now()
    session.add(
        MemberSession(
            token_hash=token_digest(token),
            member_id=member.id,
            environment=environment,
            ip_address=ip_address,
            created=now,
            last_seen_at=now,
        )
    )
    record(session, member.organization_id, Actor(member.email, member.id, ip_address), "member.signed_in")
    session.commit()
    return token


def signed_in(session: Session, token: str) -> SignedIn | None:
    """The live session of this token (touching it), or None when it ended, idled out or never was."""
    row = session.scalar(select(MemberSession).where(MemberSession.token_hash == token_digest(token)))
    now = _now()
    if row is None or row.ended_at is not None:
        return None
    if now - row.last_seen_at > IDLE_SECONDS:
        row.ended_at = now
        session.commit()
        return None
    member = session.get(Member, row.member_id)
    if member is None or member.removed_at is not None:
        return None
    organization = session.get(Organization, member.organization_id)
    assert organization is not None
    if now - row.last_seen_at > 60:  # one write a minute at most, not one per page
        _touch(session, row, now)
    return SignedIn(member, organization, row)


def _touch(session: Session, row: MemberSession, now: int) -> None:
    """Bookkeeping that never holds a page up: when the database's write lock stays taken (a quarter of a
    second), the touch is skipped; the next page writes it (the session idles out after IDLE_SECONDS)."""
    try:
        with committed_briefly(session):
            session.execute(
                update(MemberSession).where(MemberSession.id == row.id).values(last_seen_at=now),
                execution_options={"synchronize_session": False},
            )
    except WriteLockBusy:
        return
    set_committed_value(row, "last_seen_at", now)


def end_session(session: Session, token: str) -> None:
    session.execute(
        update(MemberSession)
        .where(MemberSession.token_hash == token_digest(token), MemberSession.ended_at.is_(None))
        .values(ended_at=_now())
    )
    session.commit()


def switch_environment(session: Session, current: SignedIn, environment: str) -> None:
    if environment not in ("sandbox", "production"):
        raise invalid("environment: sandbox or production", "environment")
    current.row.environment = environment
    session.commit()


def _end_sessions_of(session: Session, member_id: str) -> None:
    session.execute(
        update(MemberSession)
        .where(MemberSession.member_id == member_id, MemberSession.ended_at.is_(None))
        .values(ended_at=_now())
    )


# The team -----------------------------------------------------------------------------------------------


def members(session: Session, organization_id: str) -> list[Member]:
    return list(
        session.scalars(
            select(Member)
            .where(Member.organization_id == organization_id, Member.removed_at.is_(None))
            .order_by(Member.email)
        )
    )


def _member_of(session: Session, organization_id: str, member_id: str) -> Member:
    member = session.get(Member, member_id)
    if member is None or member.organization_id != organization_id or member.removed_at is not None:
        raise DomainError("resource_missing", f"No member {member_id}", "member", Refusal.NOT_FOUND)
    return member


def _keep_an_admin(session: Session, organization_id: str, leaving: Member) -> None:
    admins = [m for m in members(session, organization_id) if m.role == Role.ADMIN and m.id != leaving.id]
    if leaving.role == Role.ADMIN and not admins:
        raise DomainError(
            "last_admin", "The organization needs at least one admin.", "role", Refusal.CONFLICT
        )


def change_role(session: Session, organization_id: str, member_id: str, role: Role, actor: Actor) -> Member:
    member = _member_of(session, organization_id, member_id)
    if role != Role.ADMIN:
        _keep_an_admin(session, organization_id, member)
    before, member.role = member.role, role.value
    record(session, organization_id, actor, "member.role_changed", member.id, before=before, after=role.value)
    session.commit()
    return member


def remove_member(session: Session, organization_id: str, member_id: str, actor: Actor) -> Member:
    member = _member_of(session, organization_id, member_id)
    _keep_an_admin(session, organization_id, member)
    member.removed_at = _now()
    member.email = f"{member.email}#removed-{member.removed_at}"  # the address may be invited again
    _end_sessions_of(session, member.id)
    record(session, organization_id, actor, "member.removed", member.id)
    session.commit()
    return member
