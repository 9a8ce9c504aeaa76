"""The dashboard's Webhooks and Events pages, through a real server, the real worker, a real receiver and
Chromium: each operation gives the answer the API gives for it, because both call services.webhooks and
services.events."""

import html
import json
import re
from datetime import UTC, datetime

import httpx
import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from common.webhook_signature import SIGNATURE_HEADER, verify_signature
from db.models import AuditEntry, WebhookDelivery, WebhookEndpoint
from domain.roles import Role
from outbox.records import record_event
from tests.accessibility import assert_accessible
from tests.dashboard_support import add_member, post_form, readme_screenshot, sign_in, signed_in
from tests.support import (
    Org,
    WebhookReceiver,
    contractor_fields,
    entity_fields,
    eventually,
    job_fields,
    make_org,
)

pytestmark = pytest.mark.usefixtures("worker")
WEBHOOKS = "/dashboard/webhooks"


def _api(api_url: str, key: str) -> httpx.Client:
    return httpx.Client(base_url=f"{api_url}/api/v1", auth=(key, ""), timeout=30)


def _bind_policy(http: httpx.Client) -> dict[str, object]:
    """A policy bound through the API: one policy.active event."""
    entity = http.post("/entities", json=entity_fields()).json()["id"]
    contractor = http.post("/contractors", json=contractor_fields()).json()["id"]
    job = http.post("/jobs", json=job_fields(entity)).json()["id"]
    quote = http.post("/quotes", json={"contractor": contractor, "job": job, "coverage_type": ["general"]})
    policy = http.post("/policies", json={"quote": quote.json()["id"]})
    assert policy.status_code == 201, policy.text
    return dict(policy.json())


def _found(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    assert match, f"{pattern} not on the page"
    return html.unescape(match.group(1))


def _added(response: httpx.Response) -> tuple[str, str]:
    """The new endpoint's id and the secret the page shows once."""
    assert response.status_code == 201, response.text
    endpoint_id = _found(r'id="endpoint-id">([^<]+)<', response.text)
    secret = _found(r'id="revealed-secret"[^>]*value="([^"]+)"', response.text)
    return endpoint_id, secret


def _add(client: httpx.Client, url: str, events: list[str], description: str = "") -> tuple[str, str]:
    token = _found(r'name="csrf_token" value="([^"]+)"', client.get(WEBHOOKS).text)
    data = {"csrf_token": token, "url": url, "description": description, "events": events}
    return _added(client.post(WEBHOOKS, data=data))


def _error(response: httpx.Response) -> str:
    return _found(r'role="alert">([^<]+)<', response.text)


def _delivered(http: httpx.Client, endpoint_id: str, count: int) -> list[dict[str, object]]:
    def done() -> list[dict[str, object]] | None:
        found = http.get(f"/webhook_endpoints/{endpoint_id}/deliveries").json()
        ok = len(found) >= count and all(d["status"] == "delivered" for d in found)
        return found if ok else None

    return eventually(done)


def test_an_admin_adds_an_endpoint_sees_the_delivery_and_its_attempts_and_resends_it(
    api_url: str,
    org: Org,
    session_factory: sessionmaker[Session],
    receiver: tuple[WebhookReceiver, str],
    browser: Browser,
) -> None:
    hook, url = receiver
    admin = add_member(session_factory, org.id)
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    sign_in(page, api_url, admin)
    page.get_by_role("link", name="Webhooks").click()
    expect(page.get_by_role("heading", name="Webhooks")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("URL").fill(url)
    page.get_by_label("Description").fill("Our receiver")
    page.get_by_label("All events").uncheck()
    page.get_by_label("policy.active", exact=True).check()
    page.get_by_role("button", name="Add endpoint").click()
    expect(page.get_by_role("status")).to_contain_text("copy its signing secret now")
    assert_accessible(page)
    secret = page.get_by_label("Signing secret", exact=True).input_value()
    endpoint_id = page.locator("#endpoint-id").inner_text()

    with _api(api_url, org.sandbox_key) as http:
        policy = _bind_policy(http)
        [(headers, body)] = hook.wait_for(1)
        assert verify_signature(body, headers[SIGNATURE_HEADER], secret)
        event_id = json.loads(body)["id"]
        [delivery] = _delivered(http, endpoint_id, 1)

        page.goto(f"{api_url}{WEBHOOKS}/{endpoint_id}")
        row = page.get_by_role("row").filter(has_text=str(delivery["id"]))
        expect(row).to_contain_text("Delivered")
        expect(row).to_contain_text("HTTP 200")
        expect(row).to_contain_text("policy.active")
        expect(page.get_by_text(secret)).to_have_count(0)  # shown once, then only its hint
        readme_screenshot(page, "deliveries")
        assert_accessible(page)

        row.get_by_role("link", name=str(delivery["id"])).click()
        expect(page.get_by_role("heading", name="Webhook delivery")).to_be_visible()
        assert_accessible(page)
        page.get_by_role("button", name="Resend").click()
        expect(page.get_by_role("status")).to_contain_text("Sent again")
        assert_accessible(page)
        resent_id = page.locator("#delivery-id").inner_text()
        assert resent_id != delivery["id"]
        _, (again, again_body) = hook.wait_for(2)
        assert verify_signature(again_body, again[SIGNATURE_HEADER], secret)
        assert again["ten99policy-event-id"] == event_id
        assert again["ten99policy-delivery-id"] == resent_id
        assert json.loads(again_body) == http.get(f"/events/{event_id}").json()
        eventually(lambda: http.get(f"/webhook_deliveries/{resent_id}").json()["status"] == "delivered")
        page.reload()
        expect(page.locator("#delivery-status-value")).to_have_text("Delivered")
        expect(page.locator("tr[data-attempt='1']")).to_have_attribute("data-status-code", "200")

        page.goto(f"{api_url}{WEBHOOKS}")
        expect(page.get_by_role("link", name=url)).to_be_visible()
        readme_screenshot(page, "webhooks")
        assert_accessible(page)

        page.get_by_role("link", name="Events", exact=True).click()
        page.get_by_label("Type").select_option("policy.active")
        page.get_by_label("Object ID").fill(str(policy["id"]))
        page.get_by_role("button", name="Filter").click()
        expect(page.get_by_role("link", name=event_id)).to_be_visible()
        readme_screenshot(page, "events")
        assert_accessible(page)
        page.get_by_role("link", name=event_id).click()
        shown = json.loads(page.locator("#event-json").inner_text())
        assert_accessible(page)
        assert shown == http.get(f"/events/{event_id}").json()
    page.close()
    with session_factory() as session:
        actions = list(
            session.scalars(
                select(AuditEntry.action).where(AuditEntry.organization_id == org.id).order_by(AuditEntry.id)
            )
        )
    assert actions[-2:] == ["webhook_endpoint.created", "webhook_delivery.resent"]


def test_an_endpoint_added_in_the_dashboard_is_the_one_the_api_returns(
    api_url: str, org: Org, session_factory: sessionmaker[Session], receiver: tuple[WebhookReceiver, str]
) -> None:
    _, url = receiver
    admin = add_member(session_factory, org.id)
    with signed_in(api_url, admin) as client, _api(api_url, org.sandbox_key) as http:
        endpoint_id, secret = _add(client, url, ["policy.cancelled", "bill.paid"], "Finance hooks")
        through_api = http.post(
            "/webhook_endpoints",
            json={"url": url, "events": ["policy.cancelled", "bill.paid"], "description": "Finance hooks"},
        ).json()
        mine = http.get(f"/webhook_endpoints/{endpoint_id}").json()
    assert mine["secret"] == secret
    differ = {"id", "created", "secret"}
    assert {k: v for k, v in mine.items() if k not in differ} == {
        k: v for k, v in through_api.items() if k not in differ
    }
    assert mine["events"] == ["bill.paid", "policy.cancelled"] and mine["status"] == "enabled"


def test_a_bad_url_or_event_type_gets_the_apis_refusal(
    api_url: str, org: Org, session_factory: sessionmaker[Session]
) -> None:
    admin = add_member(session_factory, org.id)
    with signed_in(api_url, admin) as client:
        for url, events, key in [
            ("not a url", ["*"], org.sandbox_key),
            ("https://example.com/hooks", ["no.such_event"], org.sandbox_key),
            ("http://127.0.0.1:9/hooks", ["*"], org.production_key),  # production: https on public addresses
        ]:
            if key == org.production_key:
                post_form(client, "/dashboard", "/dashboard/environment", {"environment": "production"})
            with _api(api_url, key) as http:
                api = http.post("/webhook_endpoints", json={"url": url, "events": events})
            token = _found(r'name="csrf_token" value="([^"]+)"', client.get(WEBHOOKS).text)
            dashboard = client.post(WEBHOOKS, data={"csrf_token": token, "url": url, "events": events})
            assert dashboard.status_code == api.status_code == 400
            said = _error(dashboard)  # in the dashboard's words, not the API's "url: …" or "events: …"
            assert said != api.json()["message"] and not said.startswith(("url:", "events:")), said
            assert said.endswith("Correct it in the form and send it again."), said
    with session_factory() as session:
        count = session.scalar(select(func.count()).where(WebhookEndpoint.organization_id == org.id))
    assert count == 0


def test_editing_events_and_disabling_give_what_the_api_gives(
    api_url: str, org: Org, session_factory: sessionmaker[Session], receiver: tuple[WebhookReceiver, str]
) -> None:
    hook, url = receiver
    admin = add_member(session_factory, org.id)
    with signed_in(api_url, admin) as client, _api(api_url, org.sandbox_key) as http:
        endpoint_id, _ = _add(client, url, ["*"])
        twin = http.post("/webhook_endpoints", json={"url": url}).json()["id"]
        page = f"{WEBHOOKS}/{endpoint_id}"

        edited = post_form(
            client,
            page,
            f"{page}/edit",
            {"url": url, "description": "Policies only", "events": "policy.active"},
        )
        assert edited.status_code == 303 and edited.headers["location"] == f"{page}?notice=saved"
        http.put(
            f"/webhook_endpoints/{twin}", json={"description": "Policies only", "events": ["policy.active"]}
        )
        mine, theirs = (
            http.get(f"/webhook_endpoints/{endpoint_id}").json(),
            http.get(f"/webhook_endpoints/{twin}"),
        )
        assert (mine["events"], mine["description"]) == (
            theirs.json()["events"],
            theirs.json()["description"],
        )
        assert mine["events"] == ["policy.active"]
        assert "<code>policy.active</code>" in client.get(page).text

        refused = post_form(client, page, f"{page}/edit", {"url": url, "events": "policy.bogus"})
        api_refused = http.put(f"/webhook_endpoints/{twin}", json={"events": ["policy.bogus"]})
        assert refused.status_code == api_refused.status_code == 400
        assert "unknown event types: policy.bogus" in _error(refused)
        assert not _error(refused).startswith("events:")  # the API's words: api_refused's

        disabled = post_form(client, page, f"{page}/status", {"status": "disabled"})
        assert disabled.status_code == 303
        http.put(f"/webhook_endpoints/{twin}", json={"status": "disabled"})
        assert http.get(f"/webhook_endpoints/{endpoint_id}").json()["status"] == "disabled"
        assert 'id="endpoint-status">Off<' in client.get(page).text
        _bind_policy(http)  # a disabled endpoint gets nothing
        assert http.get(f"/webhook_endpoints/{endpoint_id}/deliveries").json() == []

        enabled = post_form(client, page, f"{page}/status", {"status": "enabled"})
        assert enabled.status_code == 303
        assert http.get(f"/webhook_endpoints/{endpoint_id}").json()["status"] == "enabled"
        bad = post_form(client, page, f"{page}/status", {"status": "paused"})
        api_bad = http.put(f"/webhook_endpoints/{twin}", json={"status": "paused"})
        assert (bad.status_code, api_bad.status_code) == (400, 400)
        assert _error(bad).startswith("The status is not one of the choices"), _error(bad)
        assert api_bad.json()["message"] == "status: Input should be 'enabled' or 'disabled'"  # the API's
    assert hook.requests == []
    with session_factory() as session:
        actions = session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.organization_id == org.id, AuditEntry.target == endpoint_id)
            .order_by(AuditEntry.id)
        )
        assert list(actions) == [
            "webhook_endpoint.created",
            "webhook_endpoint.updated",
            "webhook_endpoint.updated",
            "webhook_endpoint.updated",
        ]


def _attempts_shown(text: str) -> list[dict[str, object]]:
    found = re.findall(
        r'data-attempt="(\d+)" data-status-code="(\d*)" data-latency-ms="(\d+)" data-error="([^"]*)"', text
    )
    return [
        {
            "attempt": int(a),
            "status_code": int(c) if c else None,
            "latency_ms": int(ms),
            "error": html.unescape(e) or None,
        }
        for a, c, ms, e in found
    ]


def test_deliveries_their_attempts_and_resends_are_the_apis(
    api_url: str, org: Org, session_factory: sessionmaker[Session], receiver: tuple[WebhookReceiver, str]
) -> None:
    hook, url = receiver
    admin = add_member(session_factory, org.id)
    with signed_in(api_url, admin) as client, _api(api_url, org.sandbox_key) as http:
        endpoint_id, secret = _add(client, url, ["policy.active", "policy.cancelled"])
        policy = _bind_policy(http)
        [active] = _delivered(http, endpoint_id, 1)
        hook.fail_next = 1  # the cancellation's first attempt gets a 503 (its retry comes 30 s later)
        http.put(f"/policies/{policy['id']}", json={"is_active": False})

        def failed_once() -> list[dict[str, object]] | None:
            listed = http.get(f"/webhook_endpoints/{endpoint_id}/deliveries").json()
            return listed if len(listed) == 2 and listed[0]["attempt_count"] == 1 else None

        listed = eventually(failed_once)
        page = client.get(f"{WEBHOOKS}/{endpoint_id}").text
        shown = re.findall(rf'href="{WEBHOOKS}/{endpoint_id}/deliveries/([^"]+)"', page)
        assert shown == [d["id"] for d in listed] and listed[1]["id"] == active["id"]
        assert 'HTTP <span class="status failed">503</span>' in page
        assert 'HTTP <span class="status delivered">200</span>' in page
        for d in listed:
            detail = http.get(f"/webhook_deliveries/{d['id']}").json()
            delivery_page = client.get(f"{WEBHOOKS}/{endpoint_id}/deliveries/{d['id']}").text
            expected = [
                {k: a[k] for k in ("attempt", "status_code", "latency_ms", "error")}
                for a in detail["attempts"]
            ]
            assert _attempts_shown(delivery_page) == expected and len(expected) == 1
        assert [
            a["status_code"]
            for d in listed
            for a in http.get(f"/webhook_deliveries/{d['id']}").json()["attempts"]
        ] == [503, 200]

        response = post_form(
            client,
            f"{WEBHOOKS}/{endpoint_id}",
            f"{WEBHOOKS}/{endpoint_id}/deliveries/{active['id']}/resend",
            {},
        )
        assert response.status_code == 303
        resent_id = response.headers["location"].split("/deliveries/")[1].split("?")[0]
        resent = http.get(f"/webhook_deliveries/{resent_id}").json()
        through_api = http.post(f"/webhook_deliveries/{active['id']}/resend").json()
        same = {"object", "event", "webhook_endpoint", "resend_of"}
        assert {k: resent[k] for k in same} == {k: through_api[k] for k in same}
        assert resent["resend_of"] == active["id"] and resent["webhook_endpoint"] == endpoint_id
        requests = hook.wait_for(4)  # policy.active, the failed cancellation, two resends
        for headers, body in requests:
            assert verify_signature(body, headers[SIGNATURE_HEADER], secret)

        # A disabled endpoint's delivery is not resent: the API's refusal, word for word (and the
        # cancellation's pending retry stops).
        http.put(f"/webhook_endpoints/{endpoint_id}", json={"disabled": True})
        refused = post_form(
            client,
            f"{WEBHOOKS}/{endpoint_id}",
            f"{WEBHOOKS}/{endpoint_id}/deliveries/{active['id']}/resend",
            {},
        )
        api_refused = http.post(f"/webhook_deliveries/{active['id']}/resend")
        assert (refused.status_code, _error(refused)) == (409, api_refused.json()["message"])
        assert api_refused.status_code == 409


def test_the_event_log_filters_and_pages_as_the_api_lists(
    api_url: str, session_factory: sessionmaker[Session]
) -> None:
    org = make_org(session_factory, "Event Log Platform")
    viewer = add_member(session_factory, org.id, Role.VIEWER)
    with session_factory() as session:  # no endpoints: events only
        for n in range(60):
            kind = "policy.active" if n % 2 else "policy.cancelled"
            record_event(session, org.id, "sandbox", kind, {"id": f"pl_{n % 3}", "object": "policy"})
        session.commit()
    today = datetime.now(UTC).date().isoformat()
    with signed_in(api_url, viewer) as client, _api(api_url, org.sandbox_key) as http:
        api_all = [e["id"] for e in http.get("/events", params={"limit": 100}).json()]
        assert len(api_all) == 60

        def ids(text: str) -> list[str]:
            return re.findall(r'href="/dashboard/events/(ev_[^"]+)"', text)

        first = client.get("/dashboard/events")
        assert ids(first.text) == api_all[:50]
        older = html.unescape(_found(r'href="([^"]+)">Older<', first.text))
        second = client.get(older)
        assert ids(second.text) == api_all[50:] and ">Older<" not in second.text
        newer = html.unescape(_found(r'href="([^"]+)">Newer<', second.text))
        assert ids(client.get(newer).text) == api_all[:50]

        typed = client.get("/dashboard/events", params={"type": "policy.active"})
        api_typed = [
            e["id"] for e in http.get("/events", params={"type": "policy.active", "limit": 100}).json()
        ]
        assert ids(typed.text) == api_typed and len(api_typed) == 30

        about = client.get(
            "/dashboard/events", params={"object": "pl_1", "type": "policy.active", "date": today}
        )
        expected = [
            e["id"]
            for e in http.get("/events", params={"type": "policy.active", "limit": 100}).json()
            if e["data"]["id"] == "pl_1"
        ]
        assert ids(about.text) == expected and len(expected) == 10
        assert ids(client.get("/dashboard/events", params={"date": "2001-01-01"}).text) == []
        bad_day = client.get("/dashboard/events", params={"date": "yesterday"})
        assert bad_day.status_code == 400 and "YYYY-MM-DD" in bad_day.text

        event_page = client.get(f"/dashboard/events/{api_all[0]}").text
        shown = json.loads(
            _found(r'<pre class="json" id="event-json"[^>]*>(.*?)</pre>', event_page.replace("\n", " "))
        )
        assert shown == http.get(f"/events/{api_all[0]}").json()


def test_a_viewer_sees_no_buttons_and_cannot_change_anything(
    api_url: str, org: Org, session_factory: sessionmaker[Session], receiver: tuple[WebhookReceiver, str]
) -> None:
    hook, url = receiver
    viewer = add_member(session_factory, org.id, Role.VIEWER)
    with _api(api_url, org.sandbox_key) as http:
        endpoint = http.post("/webhook_endpoints", json={"url": url, "events": ["policy.active"]}).json()
        _bind_policy(http)
        [delivery] = _delivered(http, endpoint["id"], 1)
    page = f"{WEBHOOKS}/{endpoint['id']}"
    with signed_in(api_url, viewer) as client:
        listing, detail = client.get(WEBHOOKS).text, client.get(page).text
        delivery_page = client.get(f"{page}/deliveries/{delivery['id']}").text
        assert url in listing and delivery["id"] in detail
        assert 'method="post" action="/dashboard/webhooks' not in listing + detail + delivery_page
        for text in (listing, detail, delivery_page):
            assert not re.search(r">(Add endpoint|Disable|Enable|Save|Roll secret|Resend)<", text)
        attempts = [
            (WEBHOOKS, {"url": url, "events": "*"}),
            (f"{page}/edit", {"url": url, "events": "bill.paid"}),
            (f"{page}/status", {"status": "disabled"}),
            (f"{page}/roll-secret", {"expires_in_hours": "0"}),
            (f"{page}/deliveries/{delivery['id']}/resend", {}),
        ]
        for action, data in attempts:
            response = post_form(client, "/dashboard", action, data)
            assert response.status_code == 403 and "Your role does not allow this" in response.text
    with _api(api_url, org.sandbox_key) as http:
        assert http.get(f"/webhook_endpoints/{endpoint['id']}").json() == endpoint
        assert len(http.get("/webhook_endpoints").json()) == 1
        assert len(http.get(f"/webhook_endpoints/{endpoint['id']}/deliveries").json()) == 1
    assert len(hook.requests) == 1


def test_a_form_posted_without_its_csrf_token_changes_nothing(
    api_url: str, org: Org, session_factory: sessionmaker[Session], receiver: tuple[WebhookReceiver, str]
) -> None:
    _, url = receiver
    admin = add_member(session_factory, org.id)
    with signed_in(api_url, admin) as client:
        endpoint_id, secret = _add(client, url, ["*"])
        for action, data in [
            (WEBHOOKS, {"url": url, "events": "*"}),
            (f"{WEBHOOKS}/{endpoint_id}/status", {"status": "disabled"}),
            (f"{WEBHOOKS}/{endpoint_id}/edit", {"url": url, "events": "bill.paid"}),
            (f"{WEBHOOKS}/{endpoint_id}/roll-secret", {"expires_in_hours": "0"}),
        ]:
            response = client.post(action, data=data)
            assert response.status_code == 403 and "Nothing was changed" in response.text
    with session_factory() as session:
        [endpoint] = session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.organization_id == org.id))
        assert (endpoint.status, endpoint.events, endpoint.secret) == ("enabled", ["*"], secret)


def test_another_organizations_endpoints_deliveries_and_events_are_not_found(
    api_url: str, org: Org, session_factory: sessionmaker[Session], receiver: tuple[WebhookReceiver, str]
) -> None:
    _, url = receiver
    other = make_org(session_factory, "Other Platform")
    with _api(api_url, other.sandbox_key) as http:
        theirs = http.post("/webhook_endpoints", json={"url": url, "events": ["policy.active"]}).json()
        _bind_policy(http)
        [their_delivery] = _delivered(http, theirs["id"], 1)
        their_event = str(their_delivery["event"])
    admin = add_member(session_factory, org.id)
    with signed_in(api_url, admin) as client, _api(api_url, org.sandbox_key) as http:
        mine, _ = _add(client, url, ["*"])
        assert http.get(f"/webhook_endpoints/{theirs['id']}").status_code == 404
        for path in [
            f"{WEBHOOKS}/{theirs['id']}",
            f"{WEBHOOKS}/{theirs['id']}/deliveries/{their_delivery['id']}",
            f"{WEBHOOKS}/{mine}/deliveries/{their_delivery['id']}",
            f"/dashboard/events/{their_event}",
        ]:
            assert client.get(path).status_code == 404, path
        for action, data in [
            (f"{WEBHOOKS}/{theirs['id']}/edit", {"url": url, "events": "bill.paid"}),
            (f"{WEBHOOKS}/{theirs['id']}/status", {"status": "disabled"}),
            (f"{WEBHOOKS}/{theirs['id']}/roll-secret", {"expires_in_hours": "0"}),
            (f"{WEBHOOKS}/{theirs['id']}/deliveries/{their_delivery['id']}/resend", {}),
            (f"{WEBHOOKS}/{mine}/deliveries/{their_delivery['id']}/resend", {}),
        ]:
            response = post_form(client, WEBHOOKS, action, data)
            assert response.status_code == 404 and "Not found" in response.text, action
        assert their_event not in client.get("/dashboard/events").text
    with _api(api_url, other.sandbox_key) as http:
        assert http.get(f"/webhook_endpoints/{theirs['id']}").json() == theirs
    with session_factory() as session:
        resends = session.scalar(
            select(func.count()).where(WebhookDelivery.resend_of == their_delivery["id"])
        )
    assert resends == 0


def test_rolling_the_secret_shows_the_new_one_once_and_signs_with_both_as_the_api_does(
    api_url: str, org: Org, session_factory: sessionmaker[Session], receiver: tuple[WebhookReceiver, str]
) -> None:
    hook, url = receiver
    admin = add_member(session_factory, org.id)
    with signed_in(api_url, admin) as client, _api(api_url, org.sandbox_key) as http:
        endpoint_id, old = _add(client, url, ["policy.active"])
        twin = http.post("/webhook_endpoints", json={"url": url, "events": ["bill.paid"]}).json()["id"]
        page = f"{WEBHOOKS}/{endpoint_id}"
        rolled = post_form(client, page, f"{page}/roll-secret", {"expires_in_hours": "24"})
        assert rolled.status_code == 200 and "Secret rolled" in rolled.text
        new = _found(r'id="revealed-secret"[^>]*value="([^"]+)"', rolled.text)
        through_api = http.post(
            f"/webhook_endpoints/{twin}/roll_secret", json={"expires_in_hours": 24}
        ).json()
        mine = http.get(f"/webhook_endpoints/{endpoint_id}").json()
        assert mine["secret"] == new != old
        assert abs(mine["previous_secret_expires_at"] - through_api["previous_secret_expires_at"]) <= 2
        assert new not in client.get(page).text  # shown once

        _bind_policy(http)
        [(headers, body)] = hook.wait_for(1)
        assert headers[SIGNATURE_HEADER].count("v1=") == 2
        assert verify_signature(body, headers[SIGNATURE_HEADER], old)
        assert verify_signature(body, headers[SIGNATURE_HEADER], new)

        bad = post_form(client, page, f"{page}/roll-secret", {"expires_in_hours": "999"})
        api_bad = http.post(f"/webhook_endpoints/{twin}/roll_secret", json={"expires_in_hours": 999})
        assert bad.status_code == api_bad.status_code == 400
        assert _error(bad).startswith("Hours the old one keeps working: from 0"), _error(bad)
        assert http.get(f"/webhook_endpoints/{endpoint_id}").json()["secret"] == new
    with session_factory() as session:
        entry = session.scalar(
            select(AuditEntry).where(
                AuditEntry.target == endpoint_id, AuditEntry.action == "webhook_endpoint.secret_rolled"
            )
        )
        assert entry is not None and entry.actor == admin and new not in str(entry.detail)
