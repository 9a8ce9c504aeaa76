"""Who gets into the dashboard: invitations by email, passwords (argon2), throttled sign-in, server-side
sessions, password resets, roles, the environment switch and CSRF, through a real server and Chromium."""

import re

import httpx
import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from db.models import AuditEntry, Member
from domain.roles import Role
from tests.accessibility import assert_accessible
from tests.dashboard_support import (
    PASSWORD,
    add_member,
    form_token,
    post_form,
    readme_screenshot,
    sign_in,
    signed_in,
    signed_in_client,
)
from tests.support import Org, SmtpSink, eventually, make_org, unique_email

pytestmark = pytest.mark.usefixtures("worker")


def _link_in_mail(smtp_sink: SmtpSink, recipient: str, path: str) -> str:
    def found() -> str | None:
        for message in smtp_sink.messages:
            if message["To"] == recipient:  # type: ignore[index]
                text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[attr-defined]
                match = re.search(rf"http\S+{path}\S+", text)
                if match:
                    return match.group(0)
        return None

    return eventually(found, timeout=60)


def test_an_invited_admin_sets_a_password_signs_in_switches_environment_and_signs_out(
    api_url: str, org: Org, session_factory: sessionmaker[Session], smtp_sink: SmtpSink, browser: Browser
) -> None:
    inviter = add_member(session_factory, org.id)
    newcomer = unique_email("newcomer")
    with signed_in(api_url, inviter) as client:
        response = post_form(
            client, "/dashboard/team", "/dashboard/team/invite", {"email": newcomer, "role": "admin"}
        )
        assert response.status_code == 303
    link = _link_in_mail(smtp_sink, newcomer, "/dashboard/invitation/")

    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(link)
    expect(page.get_by_text(newcomer)).to_be_visible()
    assert_accessible(page)
    page.get_by_label("New password").evaluate(
        "field => field.removeAttribute('minlength')"
    )  # the server checks too
    page.get_by_label("New password").fill("short")
    page.get_by_role("button", name="Set password").click()
    expect(page.get_by_role("alert")).to_contain_text("at least 12 characters")
    assert_accessible(page)
    page.get_by_label("New password").fill(PASSWORD)
    page.get_by_role("button", name="Set password").click()
    expect(page.get_by_role("status")).to_contain_text("Your password is set")
    assert_accessible(page)

    page.goto(f"{api_url}/dashboard/sign-in")
    readme_screenshot(page, "sign-in")
    assert_accessible(page)
    sign_in(page, api_url, newcomer)
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    assert_accessible(page)
    page.goto(f"{api_url}/dashboard/team")
    expect(page.get_by_role("heading", name="Team")).to_be_visible()
    readme_screenshot(page, "team")
    assert_accessible(page)
    page.goto(f"{api_url}/dashboard")
    expect(page.get_by_label("Showing sandbox data")).to_be_visible()
    page.get_by_role("button", name="View production").click()
    expect(page.get_by_label("Showing production data")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_contain_text("You are signed out")
    assert_accessible(page)
    page.goto(f"{api_url}/dashboard/team")
    expect(page.get_by_role("heading", name="Sign in to the dashboard")).to_be_visible()

    page.goto(link)  # the invitation works once
    expect(page.get_by_text("This link does not work")).to_be_visible()
    assert_accessible(page)
    page.close()
    with session_factory() as session:
        actions = set(session.scalars(select(AuditEntry.action).where(AuditEntry.organization_id == org.id)))
    assert {"member.invited", "member.password_set.invitation", "member.signed_in"} <= actions


def test_signing_out_ends_the_session_on_the_server(api_url: str, org: Org, session_factory) -> None:
    email = add_member(session_factory, org.id)
    client = signed_in_client(api_url, email)
    cookies = dict(client.cookies)
    assert client.get("/dashboard").status_code == 200
    assert post_form(client, "/dashboard", "/dashboard/sign-out", {}).status_code == 303
    replay = httpx.Client(base_url=api_url, cookies=cookies)  # the cookie a thief kept
    assert replay.get("/dashboard").status_code == 303
    assert replay.get("/dashboard").headers["location"].startswith("/dashboard/sign-in")


def test_a_session_cookie_is_http_only_same_site_and_signed(api_url: str, org: Org, session_factory) -> None:
    email = add_member(session_factory, org.id)
    client = httpx.Client(base_url=api_url)
    token = form_token(client, "/dashboard/sign-in")
    response = client.post(
        "/dashboard/sign-in", data={"csrf_token": token, "email": email, "password": PASSWORD}
    )
    cookie = next(
        v for k, v in response.headers.multi_items() if k == "set-cookie" and "gigcover_session" in v
    )
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/dashboard" in cookie
    tampered = httpx.Client(base_url=api_url, cookies={"gigcover_session": "abc.def"})
    assert tampered.get("/dashboard").status_code == 303


def test_failed_sign_ins_are_throttled_per_account(api_url: str, org: Org, session_factory) -> None:
    email = add_member(session_factory, org.id)
    client = httpx.Client(base_url=api_url)
    for _ in range(5):
        response = post_form(
            client, "/dashboard/sign-in", "/dashboard/sign-in", {"email": email, "password": "x" * 12}
        )
        assert response.status_code == 400 and "not right" in response.text
    right = post_form(
        client, "/dashboard/sign-in", "/dashboard/sign-in", {"email": email, "password": PASSWORD}
    )
    assert right.status_code == 429 and "Too many failed sign-ins" in right.text


def test_a_form_posted_without_its_csrf_token_changes_nothing(
    api_url: str, org: Org, session_factory
) -> None:
    email = add_member(session_factory, org.id)
    with signed_in(api_url, email) as client:
        invited = unique_email("forged")
        response = client.post("/dashboard/team/invite", data={"email": invited, "role": "admin"})
        assert response.status_code == 403 and "Nothing was changed" in response.text
        response = client.post(
            "/dashboard/team/invite", data={"email": invited, "role": "admin", "csrf_token": "0" * 64}
        )
        assert response.status_code == 403
    with session_factory() as session:
        assert session.scalar(select(Member).where(Member.email == invited)) is None


def test_a_viewer_sees_no_team_page_and_cannot_change_anything(
    api_url: str, org: Org, session_factory
) -> None:
    admin = add_member(session_factory, org.id)
    viewer = add_member(session_factory, org.id, Role.VIEWER)
    with signed_in(api_url, viewer) as client:
        overview = client.get("/dashboard").text
        assert "/dashboard/team" not in overview and "/dashboard/api-keys" not in overview
        assert client.get("/dashboard/team").status_code == 403
        response = post_form(
            client, "/dashboard", "/dashboard/team/invite", {"email": unique_email(), "role": "admin"}
        )
        assert response.status_code == 403
    with session_factory() as session:
        assert session.scalar(select(Member.role).where(Member.email == admin)) == "admin"


def test_another_organizations_member_is_not_found(api_url: str, org: Org, session_factory) -> None:
    admin = add_member(session_factory, org.id)
    other = make_org(session_factory, "Other Platform")
    stranger = add_member(session_factory, other.id, Role.OPERATOR)
    with session_factory() as session:
        stranger_id = session.scalar(select(Member.id).where(Member.email == stranger))
    with signed_in(api_url, admin) as client:
        response = post_form(client, "/dashboard/team", f"/dashboard/team/{stranger_id}/remove", {})
        assert response.status_code == 404
    with session_factory() as session:
        assert session.get(Member, stranger_id).removed_at is None


def test_a_forgotten_password_is_reset_by_email_and_old_sessions_end(
    api_url: str, org: Org, session_factory, smtp_sink: SmtpSink
) -> None:
    email = add_member(session_factory, org.id, Role.FINANCE)
    old = signed_in_client(api_url, email)
    client = httpx.Client(base_url=api_url)
    response = post_form(client, "/dashboard/forgot-password", "/dashboard/forgot-password", {"email": email})
    assert response.status_code == 303
    unknown = post_form(
        client, "/dashboard/forgot-password", "/dashboard/forgot-password", {"email": unique_email("nobody")}
    )
    assert unknown.headers["location"] == response.headers["location"]  # no account probing
    link = _link_in_mail(smtp_sink, email, "/dashboard/reset/")
    path = link.split("127.0.0.1", 1)[1].split("/", 1)[1]
    response = post_form(client, f"/{path}", f"/{path}", {"password": "a brand new passphrase"})
    assert response.status_code == 303
    assert old.get("/dashboard").status_code == 303  # signed out everywhere
    signed_in_client(api_url, email, "a brand new passphrase").close()


def test_the_last_admin_cannot_be_demoted(api_url: str, org: Org, session_factory) -> None:
    email = add_member(session_factory, org.id)
    with session_factory() as session:
        own_id = session.scalar(select(Member.id).where(Member.email == email))
    with signed_in(api_url, email) as client:
        response = post_form(client, "/dashboard/team", f"/dashboard/team/{own_id}/role", {"role": "viewer"})
        assert response.status_code == 409 and "at least one admin" in response.text
