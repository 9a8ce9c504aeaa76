"""The dashboard's API keys page (admins only), through a real server and Chromium: a key is shown once,
works against the API, and stops working when revoked; every operation answers what the API's /api_keys
answers, because both call services.api_keys."""

import html
import re

import httpx
import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from db.models import ApiKey, AuditEntry
from domain.roles import Role
from tests.accessibility import assert_accessible
from tests.dashboard_support import add_member, post_form, readme_screenshot, sign_in, signed_in
from tests.support import ISSUED_KEYS, Org, make_org

pytestmark = pytest.mark.usefixtures("worker")
KEYS = "/dashboard/api-keys"


def _api(api_url: str, key: str) -> httpx.Client:
    return httpx.Client(base_url=f"{api_url}/api/v1", auth=(key, ""), timeout=30)


def _found(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    assert match, f"{pattern} not on the page"
    return html.unescape(match.group(1))


def _revealed(response: httpx.Response) -> tuple[str, str]:
    """The key the page shows once, and its id."""
    key = _found(r'id="revealed-key"[^>]*value="([^"]+)"', response.text)
    ISSUED_KEYS.append(key)  # tests/test_zz_no_secrets.py: never in the database or the logs
    return key, _found(r'data-key-id="([^"]+)"', response.text)


def _error(response: httpx.Response) -> str:
    return _found(r'role="alert">([^<]+)<', response.text)


def _shown(client: httpx.Client) -> dict[str, str]:
    """Each key row on the page: its id and status."""
    return dict(re.findall(r'<tr id="key-([^"]+)" data-status="([^"]+)">', client.get(KEYS).text))


def test_an_admin_creates_a_key_uses_it_and_revokes_it(
    api_url: str, org: Org, session_factory: sessionmaker[Session], browser: Browser
) -> None:
    admin = add_member(session_factory, org.id)
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    sign_in(page, api_url, admin)
    page.get_by_role("link", name="API keys").click()
    expect(page.get_by_role("heading", name="API keys")).to_be_visible()
    assert_accessible(page)
    page.locator("#key-name").fill("Payroll service")
    page.get_by_role("button", name="Create sandbox key").click()
    expect(page.get_by_role("status")).to_contain_text("Key created: copy it now")
    key = page.locator("#revealed-key").input_value()
    ISSUED_KEYS.append(key)
    key_id = page.locator("#revealed-key").get_attribute("data-key-id")
    assert key.startswith("t9k_test_")
    assert_accessible(page)

    with _api(api_url, key) as http:
        assert http.get("/contractors").status_code == 200
    page.goto(f"{api_url}{KEYS}")
    row = page.locator(f"#key-{key_id}")
    expect(row).to_contain_text("active")
    expect(row).not_to_contain_text("never")  # last used: just now
    expect(page.get_by_text(key)).to_have_count(0)  # shown once
    readme_screenshot(page, "api-keys")
    assert_accessible(page)

    row.get_by_role("button", name="Revoke").click()
    expect(page.get_by_role("status")).to_contain_text("Revoked")
    expect(page.locator(f"#key-{key_id}")).to_contain_text("revoked")
    assert_accessible(page)
    with _api(api_url, key) as http:
        refused = http.get("/contractors")
    assert refused.status_code == 401 and refused.json()["error_code"] == "invalid_api_key"
    page.close()
    with session_factory() as session:
        entries = session.execute(
            select(AuditEntry.action, AuditEntry.actor)
            .where(AuditEntry.organization_id == org.id, AuditEntry.target == key_id)
            .order_by(AuditEntry.id)
        ).all()
    assert [tuple(e) for e in entries] == [("api_key.created", admin), ("api_key.revoked", admin)]


def test_a_key_made_and_renamed_in_the_dashboard_is_what_the_api_returns(
    api_url: str, org: Org, session_factory: sessionmaker[Session]
) -> None:
    admin = add_member(session_factory, org.id)
    with signed_in(api_url, admin) as client, _api(api_url, org.sandbox_key) as http:
        created = post_form(client, KEYS, KEYS, {"name": "  Reporting   job "})
        assert created.status_code == 201
        key, key_id = _revealed(created)
        through_api = http.post("/api_keys", json={"name": "  Reporting   job "}).json()
        ISSUED_KEYS.append(through_api["key"])
        mine = http.get(f"/api_keys/{key_id}").json()
        differ = {"id", "created", "key_hint", "key", "last_used_at"}
        assert {k: v for k, v in mine.items() if k not in differ} == {
            k: v for k, v in through_api.items() if k not in differ
        }
        assert (mine["name"], mine["environment"], mine["status"]) == ("Reporting job", "sandbox", "active")
        assert mine["key_hint"] in created.text and key.endswith(mine["key_hint"][-4:])
        assert {k["id"] for k in http.get("/api_keys").json()} >= {key_id, through_api["id"]}
        assert set(_shown(client)) == {k["id"] for k in http.get("/api_keys").json()}

        renamed = post_form(client, KEYS, f"{KEYS}/{key_id}/name", {"name": "Nightly report"})
        assert renamed.status_code == 303
        http.put(f"/api_keys/{through_api['id']}", json={"name": "Nightly report"})
        assert http.get(f"/api_keys/{key_id}").json()["name"] == "Nightly report"
        assert http.get(f"/api_keys/{through_api['id']}").json()["name"] == "Nightly report"

        too_long = "x" * 101
        refused = post_form(client, KEYS, f"{KEYS}/{key_id}/name", {"name": too_long})
        api_refused = http.put(f"/api_keys/{key_id}", json={"name": too_long})
        said = "Name: at most 100 characters. Correct it in the form and send it again."
        assert (refused.status_code, _error(refused)) == (api_refused.status_code, said)
        assert api_refused.json()["message"] == "name: at most 100 characters"  # the API keeps its words
        assert refused.status_code == 400
        refused = post_form(client, KEYS, KEYS, {"name": too_long})
        assert (refused.status_code, _error(refused)) == (400, said)


def test_revoking_and_rolling_answer_as_the_api_does(
    api_url: str, org: Org, session_factory: sessionmaker[Session]
) -> None:
    admin = add_member(session_factory, org.id)
    with signed_in(api_url, admin) as client, _api(api_url, org.sandbox_key) as http:
        old, old_id = _revealed(post_form(client, KEYS, KEYS, {"name": "Old one"}))
        rolled = post_form(client, KEYS, f"{KEYS}/{old_id}/roll", {"expires_in_hours": "24"})
        assert rolled.status_code == 200 and "Key rolled" in rolled.text
        new, new_id = _revealed(rolled)
        twin = http.post("/api_keys", json={"name": "Old one"}).json()
        ISSUED_KEYS.append(twin["key"])
        twin_rolled = http.post(f"/api_keys/{twin['id']}/roll", json={"expires_in_hours": 24}).json()
        ISSUED_KEYS.append(twin_rolled["key"])
        old_row, twin_row = http.get(f"/api_keys/{old_id}").json(), http.get(f"/api_keys/{twin['id']}").json()
        assert (old_row["status"], twin_row["status"]) == ("expiring", "expiring")
        assert abs(old_row["expires_at"] - twin_row["expires_at"]) <= 2
        assert http.get(f"/api_keys/{new_id}").json()["name"] == twin_rolled["name"] == "Old one"
        for key in (old, new):
            with _api(api_url, key) as user:
                assert user.get("/contractors").status_code == 200
        assert _shown(client)[old_id] == "expiring" and _shown(client)[new_id] == "active"

        for hours in (999, "soon"):
            bad = post_form(client, KEYS, f"{KEYS}/{new_id}/roll", {"expires_in_hours": str(hours)})
            api_bad = http.post(f"/api_keys/{new_id}/roll", json={"expires_in_hours": hours})
            assert bad.status_code == api_bad.status_code == 400
            assert _error(bad).lower().startswith(("hours the old one keeps", "the hours the old one keeps"))
            assert api_bad.json()["message"].startswith("expires_in_hours: ")  # the API keeps its words
        again = post_form(client, KEYS, f"{KEYS}/{old_id}/roll", {"expires_in_hours": "24"})
        api_again = http.post(f"/api_keys/{twin['id']}/roll", json={"expires_in_hours": 24})
        assert (again.status_code, _error(again)) == (
            409,
            api_again.json()["message"].replace(twin["id"], old_id),
        )

        assert post_form(client, KEYS, f"{KEYS}/{old_id}/revoke", {}).status_code == 303
        http.post(f"/api_keys/{twin['id']}/revoke")
        assert http.get(f"/api_keys/{old_id}").json()["status"] == "revoked"
        with _api(api_url, old) as user:
            assert user.get("/contractors").status_code == 401
        twice = post_form(client, KEYS, f"{KEYS}/{old_id}/revoke", {})
        api_twice = http.post(f"/api_keys/{twin['id']}/revoke")
        assert (twice.status_code, _error(twice)) == (
            409,
            api_twice.json()["message"].replace(twin["id"], old_id),
        )
        assert _shown(client)[old_id] == "revoked"
        assert f'action="{KEYS}/{old_id}/revoke"' not in client.get(KEYS).text


def test_only_admins_see_or_change_keys(
    api_url: str, org: Org, session_factory: sessionmaker[Session]
) -> None:
    with _api(api_url, org.sandbox_key) as http:
        [sandbox] = http.get("/api_keys").json()
    for role in (Role.VIEWER, Role.OPERATOR, Role.FINANCE):
        member = add_member(session_factory, org.id, role)
        with signed_in(api_url, member) as client:
            assert KEYS not in client.get("/dashboard").text  # not in the navigation
            response = client.get(KEYS)
            assert response.status_code == 403 and org.sandbox_key[-4:] not in response.text
            for action, data in [
                (KEYS, {"name": "sneaky"}),
                (f"{KEYS}/{sandbox['id']}/name", {"name": "sneaky"}),
                (f"{KEYS}/{sandbox['id']}/roll", {"expires_in_hours": "0"}),
                (f"{KEYS}/{sandbox['id']}/revoke", {}),
            ]:
                refused = post_form(client, "/dashboard", action, data)
                assert refused.status_code == 403 and "Your role does not allow this" in refused.text
    with _api(api_url, org.sandbox_key) as http:
        assert http.get("/api_keys").json() == [sandbox]


def test_a_form_posted_without_its_csrf_token_changes_nothing(
    api_url: str, org: Org, session_factory: sessionmaker[Session]
) -> None:
    admin = add_member(session_factory, org.id)
    with _api(api_url, org.sandbox_key) as http:
        [sandbox] = http.get("/api_keys").json()
    with signed_in(api_url, admin) as client:
        for action, data in [
            (KEYS, {"name": "forged"}),
            (f"{KEYS}/{sandbox['id']}/name", {"name": "forged"}),
            (f"{KEYS}/{sandbox['id']}/roll", {"expires_in_hours": "0"}),
            (f"{KEYS}/{sandbox['id']}/revoke", {}),
        ]:
            response = client.post(action, data=data)
            assert response.status_code == 403 and "Nothing was changed" in response.text
    with _api(api_url, org.sandbox_key) as http:
        assert http.get("/api_keys").json() == [sandbox]
    with session_factory() as session:
        assert session.scalar(select(func.count()).where(ApiKey.organization_id == org.id)) == 2


def test_another_organizations_or_environments_keys_are_not_found(
    api_url: str, org: Org, session_factory: sessionmaker[Session]
) -> None:
    other = make_org(session_factory, "Other Platform")
    with _api(api_url, other.sandbox_key) as http:
        [theirs] = http.get("/api_keys").json()
    with _api(api_url, org.production_key) as http:
        [production] = http.get("/api_keys").json()
    admin = add_member(session_factory, org.id)
    with signed_in(api_url, admin) as client, _api(api_url, org.sandbox_key) as http:
        assert theirs["id"] not in client.get(KEYS).text and production["id"] not in client.get(KEYS).text
        for key_id in (theirs["id"], production["id"]):  # the sandbox view: as the API's sandbox key sees it
            assert http.post(f"/api_keys/{key_id}/revoke").status_code == 404
            for action, data in [
                (f"{KEYS}/{key_id}/name", {"name": "mine now"}),
                (f"{KEYS}/{key_id}/roll", {"expires_in_hours": "0"}),
                (f"{KEYS}/{key_id}/revoke", {}),
            ]:
                response = post_form(client, KEYS, action, data)
                assert response.status_code == 404 and "Not found" in response.text, action
    with _api(api_url, other.sandbox_key) as http:
        assert http.get("/api_keys").json() == [theirs]
    with _api(api_url, org.production_key) as http:
        assert http.get("/api_keys").json() == [production]
