"""A contractor completes the hosted application in headless Chromium (Debian's, driven by Playwright):
details, questions, signature, a card typed into the Stripe.js form, review, and back to the platform."""

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from playwright.sync_api import Browser, Page, expect
from sqlalchemy.orm import Session, sessionmaker

from api.main import create_app
from common.settings import Settings
from common.webhook_signature import verify_signature
from tests.accessibility import assert_accessible
from tests.dashboard_support import add_member, sign_in
from tests.portal_support import replace_card_in_portal
from tests.support import (  # noqa: F401  (the browser's, for the tests that import them here)
    CHROMIUM,
    FLAGS,
    Org,
    SmtpSink,
    WebhookReceiver,
    assignment_request,
    card,
    contractor_fields,
    entity_fields,
    eventually,
    free_port,
    intents_of,
    job_fields,
    serve,
)
from tests.test_assignment_workflow import save_card

pytestmark = pytest.mark.usefixtures("worker")


@pytest.fixture(scope="module")
def platform() -> Iterator[str]:
    """The platform's own pages the contractor is sent back to."""
    app = FastAPI()

    @app.get("/insured", response_class=HTMLResponse)
    def insured() -> str:
        return "<h1>Welcome back: you are insured</h1>"

    @app.get("/cancelled", response_class=HTMLResponse)
    def cancelled() -> str:
        return "<h1>Application cancelled</h1>"

    with serve(app) as url:
        yield url


def _session(api_url: str, org: Org, platform: str, hook_url: str | None = None) -> dict[str, object]:
    with httpx.Client(base_url=f"{api_url}/api/v1", auth=(org.sandbox_key, "")) as http:
        if hook_url:
            http.post("/webhook_endpoints", json={"url": hook_url})
        entity = http.post("/entities", json=entity_fields()).json()["id"]
        contractor = http.post("/contractors", json=contractor_fields()).json()["id"]
        job = http.post("/jobs", json=job_fields(entity)).json()["id"]
        quote = http.post(
            "/quotes",
            json={"contractor": contractor, "job": job, "coverage_type": ["general", "workers-comp"]},
        ).json()
        session = http.post(
            "/apply/sessions",
            json={
                "quote": quote["id"],
                "success_url": f"{platform}/insured",
                "cancel_url": f"{platform}/cancelled",
            },
        )
        assert session.status_code == 201, session.text
        return dict(session.json())


def _up_to_the_card(page: Page, url: str, shots: Path | None = None) -> None:
    """Details, questions and signature, as a contractor fills them in; with ``shots``, a screenshot of
    each page is saved there."""

    def shot(name: str) -> None:
        assert_accessible(page)  # each step of the application, filled in, before it is sent
        if shots:
            page.screenshot(path=shots / f"{name}.png", full_page=True)

    page.goto(url)
    expect(page.get_by_role("heading", name="Check your details")).to_be_visible()
    expect(page.get_by_label("First name")).to_have_value("Jane")
    page.get_by_label("Street address").fill("500 Market St")
    shot("1-details")
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", name="About your work")).to_be_visible()
    page.get_by_label("No, I work alone").check()
    page.get_by_label("No license needed, or I hold it").check()
    expect(page.get_by_label("Insurance claims you made in the last three years")).to_have_value("0")
    page.get_by_label("Years of experience in this kind of work").fill("7")
    shot("2-questions")
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", name="Review and sign")).to_be_visible()
    page.get_by_label("Type your full name to sign").fill("Jane Doe")
    page.get_by_label("I have read and agree to the statements above.").check()
    shot("3-signature")
    page.get_by_role("button", name="Sign application").click()
    expect(page.get_by_role("heading", name="Add a card")).to_be_visible()
    expect(page.get_by_text("We only pre-authorize your card now.")).to_be_visible()
    shot("4-card")


def _enter_card(page: Page, number: str, button: str = "Save card", cvc: str = "123") -> None:
    """The card form of the local Stripe.js stand-in (devstack/localstripe_elements.js)."""
    form = page.locator("#card-element")
    form.get_by_label("Card number").fill(number)
    form.get_by_label("Expiration date").fill("12 / 31")
    form.get_by_label("Security code").fill(cvc)
    form.get_by_label("ZIP code").fill("94105")
    page.get_by_role("button", name=button).click()


def test_a_contractor_completes_the_application_in_a_browser(
    browser: Browser,
    api_url: str,
    org: Org,
    platform: str,
    localstripe: str,
    smtp_sink: SmtpSink,
    receiver: tuple[WebhookReceiver, str],
    tmp_path: Path,
) -> None:
    hook, hook_url = receiver
    session = _session(api_url, org, platform, hook_url)
    page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
    _up_to_the_card(page, str(session["url"]), tmp_path)
    page.reload()  # reloading never breaks the session
    expect(page.get_by_role("heading", name="Add a card")).to_be_visible()
    _enter_card(page, "4242424242424242")

    expect(page.get_by_role("heading", name="Review and complete")).to_be_visible()
    expect(page.get_by_text("Visa ending 4242 is pre-authorized")).to_be_visible()
    page.screenshot(path=tmp_path / "5-review.png", full_page=True)
    assert_accessible(page)
    page.get_by_role("button", name="Complete application").click()
    page.wait_for_url(f"{platform}/insured")
    expect(page.get_by_role("heading", name="Welcome back: you are insured")).to_be_visible()
    page.go_back()  # Back after completion lands on the platform again, and charges nothing twice
    page.wait_for_url(f"{platform}/insured")
    page.close()

    with httpx.Client(base_url=f"{api_url}/api/v1", auth=(org.sandbox_key, "")) as http:
        done = http.get(f"/apply/sessions/{session['id']}").json()
        assert done["status"] == "APPLICATION_COMPLETE"
        policy = http.get(f"/policies/{done['policy']}").json()
        contractor = http.get(f"/contractors/{done['contractor']}").json()
        endpoint = http.get("/webhook_endpoints").json()[0]
    assert policy["status"] == "active" and contractor["address"]["line1"] == "500 Market St"
    assert intents_of(localstripe, str(session["id"])) == [("succeeded", int(session["premium"]))]  # type: ignore[call-overload]

    received = {json.loads(body)["type"]: (headers, body) for headers, body in hook.wait_for(2)}
    assert {"application.complete", "policy.active"} <= set(received)
    for headers, body in received.values():
        assert verify_signature(body, headers["ten99policy-signature"], endpoint["secret"])
    message_id = f"<em_confirm_{str(session['id']).removeprefix('ias_')}@gigcover>"
    deadline = time.monotonic() + 15
    while not (mine := [m for m in smtp_sink.messages if m["Message-ID"] == message_id]):  # type: ignore[index]
        assert time.monotonic() < deadline, "the payment confirmation email never arrived"
        time.sleep(0.1)
    assert mine[0]["To"] == "jane.doe@example.com" and "$31.25" in mine[0]["Subject"]  # type: ignore[index]


def test_staff_read_a_completed_applications_assignment_as_covered_not_as_waiting(
    browser: Browser,
    api_url: str,
    org: Org,
    platform: str,
    session_factory: sessionmaker[Session],
) -> None:
    """The dashboard's assignment for a first job whose application is complete says how it is covered,
    not that an application was emailed and the work is covered once it is done."""
    session = _session(api_url, org, platform)
    page = browser.new_page()
    _up_to_the_card(page, str(session["url"]))
    _enter_card(page, "4242424242424242")
    page.get_by_role("button", name="Complete application").click()
    page.wait_for_url(f"{platform}/insured")
    with httpx.Client(base_url=f"{api_url}/api/v1", auth=(org.sandbox_key, "")) as http:
        contractor = http.get(f"/apply/sessions/{session['id']}").json()["contractor"]
        assignment = eventually(
            lambda: http.get("/assignments", params={"contractor": contractor}).json(), 30
        )[0]
    sign_in(page, api_url, add_member(session_factory, org.id))
    page.goto(f"{api_url}/dashboard/assignments/{assignment['id']}")
    expect(page.locator("#how-covered")).to_contain_text(
        "Covered through the application the contractor completed for it."
    )
    page.close()


def test_an_insufficient_funds_card_is_declined_clearly_then_another_card_works(
    browser: Browser, api_url: str, org: Org, platform: str, localstripe: str
) -> None:
    session = _session(api_url, org, platform)
    page = browser.new_page()
    _up_to_the_card(page, str(session["url"]))
    _enter_card(page, "4546381219393284")
    expect(page.get_by_role("alert")).to_have_text("Your card has insufficient funds.")
    assert_accessible(page)
    expect(page.get_by_role("heading", name="Add a card")).to_be_visible()
    _enter_card(page, "5555555555554444")
    expect(page.get_by_role("heading", name="Review and complete")).to_be_visible()
    page.get_by_role("button", name="Complete application").click()
    page.wait_for_url(f"{platform}/insured")
    page.close()
    statuses = [status for status, _ in intents_of(localstripe, str(session["id"]))]
    assert statuses == ["canceled", "succeeded"] or statuses == ["succeeded"]


def test_a_declined_assignment_charge_is_paid_with_a_card_replaced_in_the_portal(
    browser: Browser,
    api_url: str,
    org: Org,
    settings: Settings,
    session_factory: sessionmaker[Session],
    localstripe: str,
    smtp_sink: SmtpSink,
) -> None:
    port = (
        free_port()
    )  # an API whose assignments charge one second after the reminder, to watch it in real time
    fast = settings.model_copy(
        update={"assignment_notice_seconds": 1, "public_base_url": f"http://127.0.0.1:{port}"}
    )
    with (
        serve(create_app(fast), port, fast) as api,
        httpx.Client(base_url=f"{api}/api/v1", auth=(org.sandbox_key, "")) as http,
    ):
        entity = http.post("/entities", json=entity_fields()).json()["id"]
        contractor = http.post("/contractors", json=contractor_fields(email="card.fail@example.com")).json()[
            "id"
        ]
        job = http.post("/jobs", json=job_fields(entity)).json()["id"]
        quote = http.post(
            "/quotes", json={"contractor": contractor, "job": job, "coverage_type": ["workers-comp"]}
        ).json()
        http.post("/policies", json={"quote": quote["id"]})
        save_card(session_factory, settings, org, contractor, "4546381219393284", localstripe)
        assignment = http.post("/assignments", json=assignment_request(contractor, job, quote)).json()
        assert assignment["payer"] == "card" and assignment["coverage_path"] == "existing_policy"

        deadline = time.monotonic() + 30
        while not (
            failures := [
                m
                for m in smtp_sink.messages
                if m["X-Gigcover-Kind"] == "assignment_charge_failure"  # type: ignore[index]
                and m["To"] == "card.fail@example.com"
            ]
        ):  # type: ignore[index]
            assert time.monotonic() < deadline, "no charge failure email"
            time.sleep(0.1)
        text = failures[0].get_body(("plain",)).get_content()  # type: ignore[attr-defined]
        assert "insufficient funds" in text
        assert f"{api_url}/my" in text and "/cards/" not in text  # the card is changed in the portal only
        # (the portal's own browser test, tests/test_portal.py, enters the card with Stripe.js)
        replace_card_in_portal(
            api, smtp_sink, "card.fail@example.com", contractor, card(localstripe, "4242424242424242")
        )
        deadline = time.monotonic() + 30
        while http.get(f"/assignments/{assignment['id']}").json()["status"] != "active":
            assert time.monotonic() < deadline, "the assignment never became active"
            time.sleep(0.2)
    assert ("succeeded", assignment["premium"]) in intents_of(localstripe, assignment["id"], key="assignment")


CARD_NOTE = "Card details go straight to our payment processor"


def test_only_a_page_that_takes_a_card_speaks_of_card_details(
    browser: Browser, api_url: str, org: Org, platform: str
) -> None:
    session = _session(api_url, org, platform)
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(str(session["url"]))
    expect(page.get_by_role("heading", name="Check your details")).to_be_visible()
    expect(page.locator("footer")).not_to_contain_text(CARD_NOTE)  # no card asked for here
    _up_to_the_card(page, str(session["url"]))
    expect(page.locator("footer")).to_contain_text(CARD_NOTE)  # the card step: it is true here
    page.close()


def test_a_general_opt_in_review_says_what_the_contractor_pays_not_a_zero_premium(
    browser: Browser, api_url: str, org: Org, platform: str
) -> None:
    """A general opt-in has no premium of its own: its review page says what applies instead of
    "Premium $0.00", and no page of it takes a card or speaks of card details."""
    with httpx.Client(base_url=f"{api_url}/api/v1", auth=(org.sandbox_key, "")) as http:
        contractor = http.post("/contractors", json=contractor_fields(withhold_premium=True)).json()["id"]
        session = http.post(
            "/apply/sessions",
            json={
                "contractor": contractor,
                "is_general_opt_in": True,
                "work_state": "CA",
                "success_url": f"{platform}/insured",
                "cancel_url": f"{platform}/cancelled",
            },
        )
        assert session.status_code == 201, session.text
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(session.json()["url"])
    for heading, button in (
        ("Check your details", "Continue"),
        ("About your work", "Continue"),
        ("Review and sign", "Sign application"),
    ):
        expect(page.get_by_role("heading", name=heading)).to_be_visible()
        expect(page.locator("footer")).not_to_contain_text(CARD_NOTE)
        if heading == "Check your details":
            page.get_by_label("Street address").fill("500 Market St")
        elif heading == "About your work":
            page.get_by_label("No, I work alone").check()
            page.get_by_label("No license needed, or I hold it").check()
            page.get_by_label("Years of experience in this kind of work").fill("7")
        else:
            page.get_by_label("Type your full name to sign").fill("Jane Doe")
            page.get_by_label("I have read and agree to the statements above.").check()
        page.get_by_role("button", name=button).click()
    expect(page.get_by_role("heading", name="Review and complete")).to_be_visible()
    review = page.get_by_role("main")
    expect(review).not_to_contain_text("$0.00")
    expect(review).to_contain_text("Nothing to pay now")
    expect(review).to_contain_text("Test Platform pays its premium")
    assert_accessible(page)
    expect(page.locator("footer")).not_to_contain_text(CARD_NOTE)
    page.get_by_role("button", name="Complete application").click()
    page.wait_for_url(f"{platform}/insured")
    page.close()
