"""Per-address limits count the address the connection comes from: X-Forwarded-For is believed only from a
proxy listed in GIGCOVER_TRUSTED_PROXIES (none by default, as make run and the image run), so a client that
rotates it from anywhere else is still one address, for the hosted pages' guessed-link throttle, the
dashboard's sign-in limit and the audit log alike."""

from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from api.main import create_app
from common.settings import Settings
from db.models import AuditEntry, RateCounter, SignInAttempt
from tests.dashboard_support import PASSWORD, add_member, form_token
from tests.support import Org, serve, unique_email

pytestmark = pytest.mark.usefixtures("worker")

LOOPBACK = "127.0.0.1"


@contextmanager
def api_with(settings: Settings, **changes: object) -> Iterator[str]:
    """The API on its own server (its own in-process counters), on the tests' database."""
    ours = settings.model_copy(update=changes)
    with serve(create_app(ours), settings=ours) as url:
        yield url


@contextmanager
def loopback_counts_forgotten(factory: sessionmaker[Session]) -> Iterator[None]:
    """These tests fill loopback's per-address counts, which every other test's requests share."""

    def forget() -> None:
        with factory() as session:
            session.execute(delete(RateCounter).where(RateCounter.bucket == f"link:{LOOPBACK}"))
            session.execute(delete(SignInAttempt).where(SignInAttempt.ip_address == LOOPBACK))
            session.commit()

    forget()
    try:
        yield
    finally:
        forget()


def _sign_in(client: httpx.Client, email: str, password: str, forwarded_for: str) -> httpx.Response:
    token = form_token(client, "/dashboard/sign-in")
    return client.post(
        "/dashboard/sign-in",
        data={"csrf_token": token, "email": email, "password": password},
        headers={"X-Forwarded-For": forwarded_for},
    )


def test_a_rotated_forwarded_for_does_not_get_around_the_guessed_link_throttle(
    settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    # the tests' settings trust no proxy, as make run and the image do
    with loopback_counts_forgotten(session_factory), api_with(settings) as url:
        answers = [
            httpx.get(
                f"{url}/apply/guessed-link-{n}", headers={"X-Forwarded-For": f"198.51.100.{n}"}, timeout=30
            ).status_code
            for n in range(21)
        ]
    assert answers == [404] * 20 + [429]  # 20 unknown links per address, however it names itself


def test_a_rotated_forwarded_for_does_not_get_around_the_sign_in_limit(
    api_url: str, org: Org, session_factory: sessionmaker[Session]
) -> None:
    member = add_member(session_factory, org.id)
    with loopback_counts_forgotten(session_factory), httpx.Client(base_url=api_url, timeout=30) as client:
        for n in range(20):  # a different account each time: only the per-address limit can stop it
            wrong = _sign_in(client, unique_email("guess"), "x" * 12, f"203.0.113.{n}")
            assert wrong.status_code == 400, wrong.text
        right = _sign_in(client, member, PASSWORD, "203.0.113.200")
    assert right.status_code == 429 and "Too many failed sign-ins" in right.text


def test_only_a_trusted_proxy_names_the_client(
    api_url: str, org: Org, settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    member = add_member(session_factory, org.id)
    with httpx.Client(base_url=api_url, timeout=30) as client:
        assert _sign_in(client, member, PASSWORD, "203.0.113.7").status_code == 303
    with (
        api_with(settings, trusted_proxies="127.0.0.0/8, 10.0.0.0/8") as proxied,
        httpx.Client(base_url=proxied, timeout=30) as client,
    ):
        # what the client wrote itself, then the address our (trusted) balancers saw it come from
        signed_in = _sign_in(client, member, PASSWORD, "203.0.113.7, 198.51.100.77, 10.1.2.3")
        assert signed_in.status_code == 303
    with session_factory() as session:
        addresses = session.scalars(
            select(AuditEntry.ip_address)
            .where(AuditEntry.actor == member, AuditEntry.action == "member.signed_in")
            .order_by(AuditEntry.id)
        ).all()
    assert addresses == [LOOPBACK, "198.51.100.77"]
