"""The update-card page against the real server, worker, SMTP and localstripe (and Chromium where the page
needs Stripe.js): it opens only with the token its email carries, never with the assignment id the platform,
its webhooks and Stripe's metadata see; that token expires, saves one card, and opens nothing else; guessing
is throttled; loading the page makes nothing at Stripe; and a card id Stripe does not know is answered at
once with a message, the link staying good for the real card. (tests/test_stripe_refusals.py: the same
refusals elsewhere.)"""

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from api.main import create_app
from common.settings import Settings
from db.models import CardLink
from tests.accessibility import assert_accessible
from tests.support import (
    Org,
    SmtpSink,
    assignment_request,
    card,
    contractor_fields,
    entity_fields,
    eventually,
    free_port,
    intents_of,
    job_fields,
    raw_stripe,
    serve,
    unique_email,
)
from tests.test_application_flow import CANCEL, SUCCESS, csrf_token
from tests.test_assignment_workflow import save_card
from tests.test_rate_limits import _throttled_per_address

pytestmark = pytest.mark.usefixtures("worker")
INSUFFICIENT_FUNDS, GOOD = "4546381219393284", "4242424242424242"


@pytest.fixture(scope="module")
def charging_api(settings: Settings) -> Iterator[str]:
    """An API whose assignments charge one second after the reminder, to watch a charge fail in real time."""
    port = free_port()
    fast = settings.model_copy(
        update={"assignment_notice_seconds": 1, "public_base_url": f"http://127.0.0.1:{port}"}
    )
    with serve(create_app(fast), port, fast) as url:
        yield url


def _assignment(
    api: str,
    org: Org,
    settings: Settings,
    factory: sessionmaker[Session],
    localstripe: str,
    number: str = INSUFFICIENT_FUNDS,
) -> tuple[dict[str, Any], str]:
    """A card-paid assignment of a contractor with ``number`` on file; returns it and the contractor's
    email address."""
    email = unique_email("card")
    with httpx.Client(base_url=f"{api}/api/v1", auth=(org.sandbox_key, ""), timeout=30) as http:
        entity = http.post("/entities", json=entity_fields()).json()["id"]
        contractor = http.post("/contractors", json=contractor_fields(email=email)).json()["id"]
        job = http.post("/jobs", json=job_fields(entity)).json()["id"]
        quote = http.post(
            "/quotes", json={"contractor": contractor, "job": job, "coverage_type": ["workers-comp"]}
        ).json()
        http.post("/policies", json={"quote": quote["id"]})
        save_card(factory, settings, org, contractor, number, localstripe)
        assignment = http.post("/assignments", json=assignment_request(contractor, job, quote)).json()
    assert assignment["payer"] == "card", assignment
    return assignment, email


def _email(smtp_sink: SmtpSink, kind: str, to: str) -> str:
    def arrived() -> list[Any]:
        return [m for m in smtp_sink.messages if m["X-Gigcover-Kind"] == kind and m["To"] == to]  # type: ignore[index]

    return str(eventually(arrived, 30)[0].get_body(("plain",)).get_content())


def _card_link(text: str) -> str:
    return next(word for word in text.split() if "/cards/" in word)


def _failed_charge(
    api: str, org: Org, settings: Settings, factory: sessionmaker[Session], localstripe: str, sink: SmtpSink
) -> tuple[dict[str, Any], str]:
    """An assignment whose charge was declined, and the link its charge-failure email carries."""
    assignment, email = _assignment(api, org, settings, factory, localstripe)
    text = _email(sink, "assignment_charge_failure", email)
    assert "insufficient funds" in text
    return assignment, _card_link(text)


def _setup_intents(localstripe: str, assignment_id: str) -> list[str]:
    """Every SetupIntent made for the assignment at Stripe."""
    intents = raw_stripe(localstripe).v1.setup_intents.list(params={"limit": 100})  # type: ignore[attr-defined]
    return [
        si.id
        for si in intents.auto_paging_iter()
        if si.to_dict().get("metadata", {}).get("assignment") == assignment_id
    ]


def _from(address: str) -> dict[str, str]:
    """A request from ``address`` (as the trusted proxy in front of the API tells it)."""
    return {"X-Forwarded-For": address}


def _status(api: str, org: Org, assignment_id: str) -> str:
    with httpx.Client(base_url=f"{api}/api/v1", auth=(org.sandbox_key, ""), timeout=30) as http:
        return str(http.get(f"/assignments/{assignment_id}").json()["status"])


def test_a_stranger_with_the_assignment_id_gets_no_card_page_and_no_setup_intent(
    charging_api: str,
    api_url: str,
    org: Org,
    settings: Settings,
    session_factory: sessionmaker[Session],
    localstripe: str,
    smtp_sink: SmtpSink,
) -> None:
    assignment, link = _failed_charge(charging_api, org, settings, session_factory, localstripe, smtp_sink)
    token = link.rsplit("/cards/", 1)[1]
    assert assignment["id"] not in link and len(token) >= 40  # its own random token, not the id
    with httpx.Client(base_url=f"{api_url}/api/v1", auth=(org.sandbox_key, ""), timeout=30) as http:
        assert token not in http.get(f"/assignments/{assignment['id']}").text  # what the platform sees
        assert token not in http.get("/events", params={"limit": 50}).text
    stranger = "198.51.100.77"
    with httpx.Client(base_url=api_url, headers=_from(stranger), timeout=30) as browser:
        page = browser.get(f"/cards/{assignment['id']}")
        assert page.status_code == 404 and "This link does not work" in page.text
        assert "Update your card" not in page.text and "seti_" not in page.text
        setup = browser.post(f"/cards/{assignment['id']}/setup", data={"csrf_token": "guess"})
        assert setup.status_code in (303, 404) and "seti_" not in setup.text
        posted = browser.post(
            f"/cards/{assignment['id']}",
            data={"payment_method_id": card(localstripe, GOOD), "csrf_token": "x"},
        )
        assert posted.status_code in (303, 404)
    assert _setup_intents(localstripe, assignment["id"]) == []
    assert _status(api_url, org, assignment["id"]) == "charge_failed"  # the stranger's card charged nothing


def test_the_emailed_link_makes_a_setup_intent_only_when_the_contractor_saves_a_card_then_is_spent(
    browser: Browser,
    charging_api: str,
    api_url: str,
    org: Org,
    settings: Settings,
    session_factory: sessionmaker[Session],
    localstripe: str,
    smtp_sink: SmtpSink,
) -> None:
    assignment, link = _failed_charge(charging_api, org, settings, session_factory, localstripe, smtp_sink)
    assert link.startswith(f"{api_url}/cards/")  # the service's public URL, known to the worker
    page = browser.new_page()
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security" in m.text else None)
    page.goto(link)
    expect(page.get_by_role("heading", name="Update your card")).to_be_visible()
    page.reload()
    expect(page.get_by_role("heading", name="Update your card")).to_be_visible()
    assert _setup_intents(localstripe, assignment["id"]) == []  # looking at the page makes nothing
    assert_accessible(page)

    form = page.locator("#card-element")
    form.get_by_label("Card number").fill(GOOD)
    form.get_by_label("Expiration date").fill("12 / 31")
    form.get_by_label("Security code").fill("123")
    form.get_by_label("ZIP code").fill("94105")
    page.get_by_role("button", name="Save card and pay").click()
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    assert len(_setup_intents(localstripe, assignment["id"])) == 1
    eventually(lambda: _status(api_url, org, assignment["id"]) == "active")
    assert ("succeeded", assignment["premium"]) in intents_of(localstripe, assignment["id"], key="assignment")

    page.goto(link)  # the link has saved its card: it offers no form any more
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    expect(page.get_by_role("button", name="Save card and pay")).to_have_count(0)
    assert_accessible(page)
    page.close()
    assert violations == []
    with httpx.Client(base_url=api_url, timeout=30) as again:
        assert again.post(f"{link.removeprefix(api_url)}/setup", data={}).status_code == 303  # no CSRF token
        assert len(_setup_intents(localstripe, assignment["id"])) == 1


def test_a_card_link_expires_and_is_good_for_nothing_but_its_card_page(
    charging_api: str,
    api_url: str,
    org: Org,
    settings: Settings,
    session_factory: sessionmaker[Session],
    localstripe: str,
    smtp_sink: SmtpSink,
) -> None:
    assignment, link = _failed_charge(charging_api, org, settings, session_factory, localstripe, smtp_sink)
    token = link.rsplit("/cards/", 1)[1]
    with httpx.Client(base_url=f"{api_url}/api/v1", auth=(org.sandbox_key, ""), timeout=30) as http:
        entity = http.post("/entities", json=entity_fields()).json()["id"]
        contractor = http.post("/contractors", json=contractor_fields(unique_email())).json()["id"]
        job = http.post("/jobs", json=job_fields(entity)).json()["id"]
        quote = http.post(
            "/quotes", json={"contractor": contractor, "job": job, "coverage_type": ["general"]}
        )
        application = http.post(
            "/apply/sessions",
            json={"quote": quote.json()["id"], "success_url": SUCCESS, "cancel_url": CANCEL},
        ).json()
    application_token = str(application["url"]).rsplit("/apply/", 1)[1]
    with httpx.Client(base_url=api_url, timeout=30) as browser:
        assert browser.get(f"/apply/{token}").status_code == 404  # a card link is not an application link
        assert browser.get(f"/cards/{application_token}").status_code == 404  # nor the other way round
        eventually(lambda: browser.get(f"/apply/{application_token}").status_code == 200)
        assert browser.get(f"/cards/{token}").status_code == 200

        with session_factory() as session:  # the link's lifetime passes
            session.execute(
                update(CardLink)
                .where(CardLink.assignment_id == assignment["id"])
                .values(expires_at=int(time.time()) - 1)
            )
            session.commit()
        expired = browser.get(f"/cards/{token}")
        assert expired.status_code == 410 and "This link has expired" in expired.text
        assert "Save card and pay" not in expired.text
    assert _setup_intents(localstripe, assignment["id"]) == []
    with session_factory() as session:  # what is stored is the link's hash, never the link
        stored = session.scalars(select(CardLink).where(CardLink.assignment_id == assignment["id"])).all()
        assert stored and all(token not in (row.token_hash,) for row in stored)


def test_guessing_card_links_is_throttled_like_application_links(
    charging_api: str,
    api_url: str,
    org: Org,
    settings: Settings,
    session_factory: sessionmaker[Session],
    localstripe: str,
    smtp_sink: SmtpSink,
) -> None:
    assignment, link = _failed_charge(charging_api, org, settings, session_factory, localstripe, smtp_sink)
    guesser, contractor = "198.51.100.91", "203.0.113.91"
    # The API behind a proxy on loopback (GIGCOVER_TRUSTED_PROXIES), which names each client: the guesser
    # runs out of tries, then gets nothing, not even the real card link; the contractor opens it as usual.
    proxied = settings.model_copy(update={"trusted_proxies": "127.0.0.1"})
    with serve(create_app(proxied), settings=proxied) as behind_proxy:
        _throttled_per_address(behind_proxy, urlsplit(link).path, guesser, contractor)
    assert _setup_intents(localstripe, assignment["id"]) == []


def test_the_card_page_refuses_a_card_id_stripe_does_not_know_with_a_message_then_takes_a_real_one(
    charging_api: str,
    api_url: str,
    org: Org,
    settings: Settings,
    session_factory: sessionmaker[Session],
    localstripe: str,
    smtp_sink: SmtpSink,
) -> None:
    assignment, link = _failed_charge(charging_api, org, settings, session_factory, localstripe, smtp_sink)
    path = link.removeprefix(api_url)
    with httpx.Client(base_url=api_url, timeout=20) as browser:
        token = csrf_token(browser, path)
        started = time.monotonic()
        bogus = browser.post(path, data={"payment_method_id": "pm_does_not_exist", "csrf_token": token})
        assert time.monotonic() - started < 10
        assert bogus.status_code == 303, bogus.text
        shown = browser.get(bogus.headers["location"])
        assert shown.status_code == 200 and 'role="alert">We could not use this card.' in shown.text
        assert "Save card and pay" in shown.text  # the link still works for the real card
        real = browser.post(path, data={"payment_method_id": card(localstripe, GOOD), "csrf_token": token})
        assert real.status_code == 303 and real.headers["location"].endswith("?saved=true")
        assert "Thank you" in browser.get(real.headers["location"]).text
    eventually(lambda: _status(api_url, org, assignment["id"]) == "active")
