"""Shared by the dashboard tests: a Chromium, members with passwords, signed-in browsers (Playwright pages
and httpx clients holding the cookies a browser would), and CSRF tokens read off the pages."""

import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from playwright.sync_api import Page
from sqlalchemy.orm import Session, sessionmaker

from domain.roles import Role
from services import members
from services.audit import COMMAND_LINE
from tests.support import unique_email

PASSWORD = "correct horse battery staple"


README_SHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


def readme_screenshot(page: Page, name: str) -> Path:
    """A screenshot of a main page: into docs/screenshots for the README with GIGCOVER_README_SCREENSHOTS=1
    (`make screenshots`), else into a scratch folder, so a test run leaves the tracked images as they are."""
    folder = README_SHOTS if os.environ.get("GIGCOVER_README_SCREENSHOTS") else Path(tempfile.gettempdir())
    path = folder / f"gigcover-{name}.png" if folder != README_SHOTS else folder / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def add_member(
    factory: sessionmaker[Session], organization_id: str, role: Role = Role.ADMIN, email: str | None = None
) -> str:
    """A member who can sign in at once with PASSWORD; returns the email."""
    email = email or unique_email(role.value)
    with factory() as session:
        body = members.NewMember(email=email, name=f"Test {role.value}", role=role)
        members.create_member(session, organization_id, body, PASSWORD, COMMAND_LINE)
        session.commit()
    return email


def form_token(client: httpx.Client, path: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert found, f"no form on {path}"
    return found.group(1)


def signed_in_client(api_url: str, email: str, password: str = PASSWORD) -> httpx.Client:
    """An httpx client holding a signed-in dashboard session, as a browser would."""
    client = httpx.Client(base_url=api_url, timeout=30)
    token = form_token(client, "/dashboard/sign-in")
    response = client.post(
        "/dashboard/sign-in", data={"csrf_token": token, "email": email, "password": password}
    )
    assert response.status_code == 303 and response.headers["location"] == "/dashboard", response.text
    return client


@contextmanager
def signed_in(api_url: str, email: str, password: str = PASSWORD) -> Iterator[httpx.Client]:
    client = signed_in_client(api_url, email, password)
    try:
        yield client
    finally:
        client.close()


def post_form(client: httpx.Client, page: str, action: str, data: dict[str, str]) -> httpx.Response:
    """Post ``data`` to ``action`` with the CSRF token of the form on ``page``."""
    return client.post(action, data={"csrf_token": form_token(client, page), **data})


def sign_in(page: Page, api_url: str, email: str, password: str = PASSWORD) -> None:
    page.goto(f"{api_url}/dashboard/sign-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{api_url}/dashboard")
