"""Attacks on the dashboard's sign-in and forms, through the real server: a CSRF cookie and token pair minted
in another browser and planted in an admin's, and a burst of concurrent wrong passwords against one
account."""

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from db.models import Member, SignInAttempt
from services.members import MAX_FAILURES_PER_ACCOUNT
from tests.dashboard_support import PASSWORD, add_member, form_token, post_form, signed_in, signed_in_client
from tests.support import Org, unique_email

pytestmark = pytest.mark.usefixtures("worker")
CSRF_COOKIE, SESSION_COOKIE = "gigcover_dash_csrf", "gigcover_session"


def _invite(client: httpx.Client, email: str, token: str) -> httpx.Response:
    return client.post("/dashboard/team/invite", data={"email": email, "role": "admin", "csrf_token": token})


def _invited(factory: sessionmaker[Session], email: str) -> bool:
    with factory() as session:
        return session.scalar(select(Member).where(Member.email == email)) is not None


def test_a_planted_csrf_cookie_and_token_pair_does_not_work_with_an_admins_session(
    api_url: str, org: Org, session_factory: sessionmaker[Session]
) -> None:
    admin = add_member(session_factory, org.id)
    admin_client = signed_in_client(api_url, admin)
    session_cookie = admin_client.cookies[SESSION_COOKIE]

    # The attacker's own browser: a CSRF cookie and the token the dashboard's forms carry with it.
    attacker = httpx.Client(base_url=api_url)
    minted_token = form_token(attacker, "/dashboard/sign-in")
    minted_cookie = attacker.cookies[CSRF_COOKIE]
    # The attacker's own signed-in session, too: its forms' token.
    mallory = add_member(session_factory, org.id)
    with signed_in(api_url, mallory) as own:
        own_session_token = form_token(own, "/dashboard/team")

    # The admin's browser with the attacker's cookie planted in it (a sibling subdomain, a man in the middle
    # on plain http): the forged form carries the token that goes with that cookie.
    planted = httpx.Client(
        base_url=api_url, cookies={SESSION_COOKIE: session_cookie, CSRF_COOKIE: minted_cookie}
    )
    for token in (minted_token, own_session_token):
        victim = unique_email("planted")
        response = _invite(planted, victim, token)
        assert response.status_code == 403 and "Nothing was changed" in response.text
        assert not _invited(session_factory, victim)

    # The admin's own form still works, in the same browser with the planted cookie.
    invited = unique_email("genuine")
    assert _invite(planted, invited, form_token(planted, "/dashboard/team")).status_code == 303
    assert _invited(session_factory, invited)
    # And a token of the admin's session stops working once that session ends: a new sign-in is a new token.
    stale = form_token(admin_client, "/dashboard/team")
    assert post_form(admin_client, "/dashboard", "/dashboard/sign-out", {}).status_code == 303
    with signed_in(api_url, admin) as again:
        late = unique_email("stale")
        assert _invite(again, late, stale).status_code == 403
        assert not _invited(session_factory, late)
    admin_client.close()


def test_forty_concurrent_wrong_passwords_get_at_most_five_checks(
    api_url: str, org: Org, session_factory: sessionmaker[Session]
) -> None:
    email = add_member(session_factory, org.id)
    tries = 40
    clients = [httpx.Client(base_url=api_url, timeout=120) for _ in range(tries)]
    tokens = [form_token(c, "/dashboard/sign-in") for c in clients]
    ready = threading.Barrier(tries)

    def guess(index: int) -> int:
        ready.wait()
        data = {"csrf_token": tokens[index], "email": email, "password": f"wrong guess {index:04d}"}
        return clients[index].post("/dashboard/sign-in", data=data).status_code

    with ThreadPoolExecutor(tries) as pool:
        statuses = list(pool.map(guess, range(tries)))
    for c in clients:
        c.close()
    checked = statuses.count(400)  # "The email or password is not right": the password was verified
    assert checked <= MAX_FAILURES_PER_ACCOUNT, statuses
    assert statuses.count(429) == tries - checked, statuses
    # Five checked failures lock the account: even the right password is refused now. (Tries that arrived
    # together may all have been refused unchecked, as PostgreSQL's concurrent commits let each see the
    # others: then nothing was learned, nothing counts, and the member still signs in.)
    client = httpx.Client(base_url=api_url)
    right = post_form(
        client, "/dashboard/sign-in", "/dashboard/sign-in", {"email": email, "password": PASSWORD}
    )
    if checked == MAX_FAILURES_PER_ACCOUNT:
        assert right.status_code == 429 and "Too many failed sign-ins" in right.text
    else:
        assert right.status_code == 303, right.text[:300]
    with session_factory() as session:  # the tests all sign in from 127.0.0.1: give the address's count back
        session.execute(delete(SignInAttempt).where(SignInAttempt.email == email))
        session.commit()
