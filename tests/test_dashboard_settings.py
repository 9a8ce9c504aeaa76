"""Settings in the dashboard, through a real server and Chromium: withhold premium (refused until the
billing details exist, with the API's own message), the CreatorIQ key (checked against the fake CreatorIQ,
then shown only as its last 4), "sync now" and a sync failure's reason; roles, CSRF, and the API's answers
for the same operations."""

import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from db.models import AuditEntry, CreatorIQConnection, Organization
from domain.roles import Role
from services.organization import BILLING_DETAILS_NEEDED
from tests.accessibility import assert_accessible
from tests.dashboard_support import add_member, post_form, readme_screenshot, sign_in, signed_in
from tests.fake_creatoriq import Account, FakeCreatorIQ
from tests.support import Org, eventually

pytestmark = pytest.mark.usefixtures("worker")
CAMPAIGN = 8101
DETAILS = {
    "billing_contact_name": "Ana Finance",
    "billing_contact_email": "ap@platform.example",
    "line1": "500 Market St",
    "locality": "San Francisco",
    "region": "CA",
    "postalcode": "94105",
}


def _api(api_url: str, org: Org) -> httpx.Client:
    return httpx.Client(base_url=f"{api_url}/api/v1", auth=(org.sandbox_key, ""), timeout=30)


def _organization(factory: sessionmaker[Session], org: Org) -> Organization:
    with factory() as session:
        found = session.get(Organization, org.id)
        assert found is not None
        session.expunge(found)
        return found


def _day(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%dT00:00:00")


def _account_with_a_broken_creator(creatoriq: FakeCreatorIQ, publisher_id: int) -> Account:
    """A CreatorIQ account with one Accepted creator whose payment amount is zero (seed 002's
    troubleshooting: "the sync fails when passed a zero or empty value for the payment amount")."""
    account = creatoriq.account(f"ciq_{secrets.token_hex(16)}")
    account.add_campaign(CAMPAIGN, "Holiday push", start=_day(10), end=_day(40))
    account.add_creator(CAMPAIGN, publisher_id, "Rae Kim")
    account.update_publisher(
        publisher_id,
        AddressLine1="9 Ocean Ave",
        City="Santa Monica",
        State="CA",
        ZIPCode="90401",
        Email=f"rae{secrets.token_hex(4)}@example.com",
    )
    account.set_payment(CAMPAIGN, publisher_id, 0)
    account.set_status(CAMPAIGN, publisher_id, "Accepted")
    return account


def test_an_admin_enables_withhold_premium_once_the_billing_details_exist(
    api_url: str, org: Org, session_factory: sessionmaker[Session], browser: Browser
) -> None:
    admin = add_member(session_factory, org.id)
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    sign_in(page, api_url, admin)
    page.goto(f"{api_url}/dashboard/settings")
    expect(page.locator("#withhold-state")).to_contain_text("Contractors pay by card")
    assert_accessible(page)
    page.get_by_role("button", name=re.compile("Withhold premium")).click()
    expect(page.get_by_role("alert")).to_have_text(
        "Add your organization's billing contact's name, billing contact's email and billing address in "
        "Settings before billing premiums to the organization."
    )
    assert_accessible(page)  # the refusal, with its link
    assert _organization(session_factory, org).sandbox_withhold_premium is False

    page.get_by_text("Edit billing details").click()
    page.get_by_label("Billing contact name").fill(DETAILS["billing_contact_name"])
    page.get_by_label("Billing contact email").fill(DETAILS["billing_contact_email"])
    page.get_by_label("Address line 1").fill(DETAILS["line1"])
    page.get_by_label("City").fill(DETAILS["locality"])
    page.get_by_label("State").fill(DETAILS["region"])
    page.get_by_label("ZIP code").fill(DETAILS["postalcode"])
    page.get_by_role("button", name="Save billing details").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    page.get_by_role("button", name=re.compile("Withhold premium")).click()
    expect(page.locator("#withhold-state")).to_contain_text("Your organization remits the premium")
    assert_accessible(page)
    page.close()

    stored = _organization(session_factory, org)
    assert stored.withhold_premium is False  # production's own setting is untouched
    assert stored.sandbox_withhold_premium is True and stored.billing_address == {
        "line1": "500 Market St",
        "line2": None,
        "locality": "San Francisco",
        "region": "CA",
        "postalcode": "94105",
    }
    with _api(api_url, org) as http:  # the API reads what the dashboard saved
        shown = http.get("/organization").json()
    assert (shown["withhold_premium"], shown["billing_contact_email"]) == (True, "ap@platform.example")
    with session_factory() as session:
        actions = [
            e.action for e in session.scalars(select(AuditEntry).where(AuditEntry.organization_id == org.id))
        ]
    assert "organization.billing_details_changed" in actions
    assert "organization.withhold_premium_changed" in actions


def test_withhold_premium_refused_for_a_missing_address_names_only_the_address_and_links_to_the_form(
    api_url: str, org: Org, session_factory: sessionmaker[Session], browser: Browser
) -> None:
    """The page says what is missing in its users' words and links to where to add it; the API keeps its
    own message for the same refusal."""
    contact = {k: v for k, v in _api_details().items() if k != "billing_address"}
    with _api(api_url, org) as http:
        assert http.put("/organization", json=contact, auth=(org.production_key, "")).status_code == 200
    admin = add_member(session_factory, org.id)
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    sign_in(page, api_url, admin)
    page.goto(f"{api_url}/dashboard/settings")
    page.get_by_role("button", name=re.compile("Withhold premium")).click()
    alert = page.get_by_role("alert")
    expect(alert).to_have_text(
        "Add your organization's billing address in Settings before billing premiums to the organization."
    )
    expect(alert).not_to_contain_text("withhold_premium")
    assert_accessible(page)
    alert.get_by_role("link", name="Settings").click()
    expect(page.get_by_role("heading", name="Billing details and contact")).to_be_in_viewport()
    page.get_by_text("Edit billing details").click()
    expect(page.get_by_label("Address line 1")).to_be_visible()
    assert_accessible(page)
    page.close()
    with _api(api_url, org) as http:
        api = http.put("/organization", json={"withhold_premium": True})
    assert api.status_code == 400
    assert api.json() == {"message": BILLING_DETAILS_NEEDED, "error_code": "invalid_input"}
    assert _organization(session_factory, org).sandbox_withhold_premium is False


def test_an_admin_saves_a_creatoriq_key_syncs_now_and_sees_why_a_creator_failed(
    api_url: str,
    org: Org,
    session_factory: sessionmaker[Session],
    creatoriq: FakeCreatorIQ,
    browser: Browser,
) -> None:
    account = _account_with_a_broken_creator(creatoriq, 901)
    admin = add_member(session_factory, org.id)
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    sign_in(page, api_url, admin)
    page.goto(f"{api_url}/dashboard/settings")
    expect(page.get_by_text("No CreatorIQ API key is set")).to_be_visible()

    page.get_by_label("CreatorIQ API key").fill("ciq_" + "0" * 32)  # no such CreatorIQ account
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("CreatorIQ did not accept this API key")
    assert_accessible(page)

    page.get_by_label("CreatorIQ API key").fill(account.api_key)
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("CreatorIQ accepted the key")
    expect(page.locator("#creatoriq-key")).to_have_text(f"…{account.api_key[-4:]}")
    assert account.api_key not in page.content()

    page.get_by_role("button", name="Sync now").click()
    expect(page.get_by_role("status")).to_have_text("Sync started.")

    def failure_shown() -> bool:
        page.reload()
        return page.get_by_text("payment amount is missing or zero").count() > 0

    eventually(failure_shown, timeout=60)
    expect(page.locator("#sync-status")).to_contain_text("1 failed")
    page.goto(f"{api_url}/dashboard/settings#h-ciq")
    readme_screenshot(page, "settings")
    assert_accessible(page)
    page.close()

    with _api(api_url, org) as http:  # the API shows the same connection and the same failure
        connection = http.get("/organization/creatoriq").json()
        failed = http.get("/creatoriq/creators", params={"status": "failed"}).json()
    assert connection["api_key"] == f"…{account.api_key[-4:]}"
    assert [f["publisher_id"] for f in failed] == [901]
    with signed_in(api_url, admin) as client:
        shown = client.get("/dashboard/settings").text
    for reason in failed[0]["reasons"]:
        assert reason.replace("'", "&#39;") in shown


def test_the_api_and_the_dashboard_refuse_a_wrong_creatoriq_key_alike(
    api_url: str, org: Org, session_factory: sessionmaker[Session], creatoriq: FakeCreatorIQ
) -> None:
    admin = add_member(session_factory, org.id)
    with signed_in(api_url, admin) as client:
        refused = post_form(
            client, "/dashboard/settings", "/dashboard/settings/creatoriq", {"api_key": "ciq_wrong_key_123"}
        )
    with _api(api_url, org) as http:
        api = http.put("/organization/creatoriq", json={"api_key": "ciq_wrong_key_123"})
    assert (refused.status_code, api.status_code) == (400, 400)
    assert (
        "CreatorIQ did not accept this API key" in refused.text
        and 'href="/dashboard/settings#h-ciq"' in refused.text
    )
    assert api.json()["message"] not in refused.text  # the API keeps its own words
    with session_factory() as session:
        assert (
            session.scalar(select(CreatorIQConnection).where(CreatorIQConnection.organization_id == org.id))
            is None
        )


@pytest.mark.parametrize("role", [Role.VIEWER, Role.OPERATOR, Role.FINANCE])
def test_only_admins_change_settings(
    api_url: str, org: Org, session_factory: sessionmaker[Session], creatoriq: FakeCreatorIQ, role: Role
) -> None:
    account = creatoriq.account(f"ciq_{secrets.token_hex(16)}")
    with _api(api_url, org) as http:
        assert (
            http.put("/organization", json=_api_details(), auth=(org.production_key, "")).status_code == 200
        )
        assert http.put("/organization/creatoriq", json={"api_key": account.api_key}).status_code == 200
    member = add_member(session_factory, org.id, role)
    with signed_in(api_url, member) as client:
        shown = client.get("/dashboard/settings")
        assert shown.status_code == 200 and "Only an admin" in shown.text
        for action in ("withhold-premium", "creatoriq", "creatoriq/sync", "creatoriq/subscribe"):
            assert f'action="/dashboard/settings/{action}"' not in shown.text
        attempts: list[tuple[str, dict[str, Any]]] = [
            ("/dashboard/settings/withhold-premium", {"withhold_premium": "true"}),
            ("/dashboard/settings/creatoriq", {"api_key": account.api_key}),
            ("/dashboard/settings/creatoriq/sync", {}),
            ("/dashboard/settings/creatoriq/subscribe", {}),
        ]
        for action, data in attempts:
            response = post_form(client, "/dashboard/settings", action, data)
            assert response.status_code == 403 and "Not allowed" in response.text, action
        editable = 'action="/dashboard/billing/details"' in shown.text
        assert editable == (role == Role.FINANCE)  # finance keeps the billing details
    stored = _organization(session_factory, org)
    assert stored.sandbox_withhold_premium is False
    with session_factory() as session:
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.organization_id == org.id))
        assert [a for a in actions if not a.startswith("member.")] == []


def test_a_settings_form_posted_without_its_csrf_token_changes_nothing(
    api_url: str, org: Org, session_factory: sessionmaker[Session]
) -> None:
    with _api(api_url, org) as http:  # the billing details are organization-wide: production's key
        assert (
            http.put("/organization", json=_api_details(), auth=(org.production_key, "")).status_code == 200
        )
    admin = add_member(session_factory, org.id)
    with signed_in(api_url, admin) as client:
        forged = client.post("/dashboard/settings/withhold-premium", data={"withhold_premium": "true"})
        assert forged.status_code == 403 and "Nothing was changed" in forged.text
        forged = client.post(
            "/dashboard/billing/details", data={**DETAILS, "billing_contact_email": "thief@example.com"}
        )
        assert forged.status_code == 403
    stored = _organization(session_factory, org)
    assert (stored.sandbox_withhold_premium, stored.billing_contact_email) == (False, "ap@platform.example")


def _api_details() -> dict[str, Any]:
    address = {k: DETAILS[k] for k in ("line1", "locality", "region", "postalcode")}
    return {
        "billing_contact_name": DETAILS["billing_contact_name"],
        "billing_contact_email": DETAILS["billing_contact_email"],
        "billing_address": address,
    }
