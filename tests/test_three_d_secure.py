"""3-D Secure against the real server, worker, SMTP, localstripe and Chromium: a card whose bank asks for
authentication is authenticated where the contractor is (the hosted card step, the emailed card page), a
failed authentication says so and leaves the step open, and an off-session charge the bank wants confirmed
waits for the contractor (an email with the link, the platform told), then moves once.

Stripe's test cards: 4000002500003155 asks when it is set up, then off-session payments pass;
4000002760003184 asks on every payment, off-session ones failing with ``authentication_required``."""

from typing import Any

import httpx
import pytest
import requests
import stripe
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from common.settings import Settings
from db.models import EmailMessage
from tests.accessibility import assert_accessible
from tests.support import Org, SmtpSink, eventually, intents_of, raw_stripe
from tests.test_application_browser import (
    _enter_card,
    _session,
    _up_to_the_card,
    platform,  # noqa: F401  (a fixture)
)
from tests.test_card_links import _assignment, _card_link, _email, _status, charging_api  # noqa: F401

pytestmark = pytest.mark.usefixtures("worker")
SET_UP_ONCE, ALWAYS = "4000002500003155", "4000002760003184"
FAILED = (
    "We are unable to authenticate your payment method. Please choose a different payment method and try "
    "again."
)


def _answer_the_bank(page: Page, complete: bool) -> None:
    """The bank's challenge, as the local Stripe.js shows it: a dialog the person completes or fails."""
    challenge = page.get_by_role("dialog", name="Confirm with your bank")
    expect(challenge).to_be_visible()
    challenge.get_by_role(
        "button", name="Complete authentication" if complete else "Fail authentication"
    ).click()
    expect(challenge).to_have_count(0)


def test_a_card_that_asks_for_authentication_is_authenticated_on_the_card_step(
    browser: Browser,
    api_url: str,
    org: Org,
    platform: str,  # noqa: F811
    localstripe: str,
) -> None:
    session = _session(api_url, org, platform)
    page = browser.new_page()
    _up_to_the_card(page, str(session["url"]))
    _enter_card(page, SET_UP_ONCE)
    _answer_the_bank(page, complete=True)
    expect(page.get_by_role("heading", name="Review and complete")).to_be_visible()
    expect(page.get_by_text("Visa ending 3155 is pre-authorized")).to_be_visible()
    page.get_by_role("button", name="Complete application").click()
    page.wait_for_url(f"{platform}/insured")
    page.close()
    assert intents_of(localstripe, str(session["id"])) == [("succeeded", int(session["premium"]))]  # type: ignore[call-overload]


def test_a_failed_authentication_says_so_and_the_card_step_stays_open(
    browser: Browser,
    api_url: str,
    org: Org,
    platform: str,  # noqa: F811
    localstripe: str,
) -> None:
    session = _session(api_url, org, platform)
    page = browser.new_page()
    _up_to_the_card(page, str(session["url"]))
    _enter_card(page, SET_UP_ONCE)
    _answer_the_bank(page, complete=False)
    expect(page.get_by_role("alert")).to_have_text(FAILED)
    expect(page.get_by_role("heading", name="Add a card")).to_be_visible()
    expect(page.get_by_role("button", name="Save card")).to_be_enabled()
    assert_accessible(page)
    assert intents_of(localstripe, str(session["id"])) == []  # nothing held on a card not authenticated

    _enter_card(page, SET_UP_ONCE)  # the same step, tried again: the bank's challenge, completed this time
    _answer_the_bank(page, complete=True)
    expect(page.get_by_role("heading", name="Review and complete")).to_be_visible()
    page.close()


def test_a_card_whose_bank_asks_for_every_payment_confirms_the_hold_on_the_card_step(
    browser: Browser,
    api_url: str,
    org: Org,
    platform: str,  # noqa: F811
    localstripe: str,
) -> None:
    """4000002760003184 asks when it is set up and again for the hold, which the worker places with the
    contractor still on the page: the hold waits for them (nothing is released, no other card asked for),
    the page offers to confirm it with their bank, a failed challenge says so, and a completed one holds
    the premium once and moves on; completing the application captures that same hold."""
    session = _session(api_url, org, platform)
    premium = int(session["premium"])  # type: ignore[call-overload]
    page = browser.new_page()
    _up_to_the_card(page, str(session["url"]))
    _enter_card(page, ALWAYS)
    _answer_the_bank(page, complete=True)  # the card's setup
    expect(page.get_by_role("heading", name="Confirm your card with your bank")).to_be_visible()
    expect(page.get_by_role("alert").first).to_contain_text("Your bank asks you to confirm this card")
    assert_accessible(page)
    assert intents_of(localstripe, str(session["id"])) == [("requires_payment_method", premium)]

    page.get_by_role("button", name="Confirm with your bank").click()
    _answer_the_bank(page, complete=False)
    expect(page.get_by_role("alert").filter(has_text="unable to authenticate")).to_be_visible()
    expect(page.get_by_role("button", name="Confirm with your bank")).to_be_enabled()

    page.get_by_role("button", name="Confirm with your bank").click()
    _answer_the_bank(page, complete=True)
    expect(page.get_by_role("heading", name="Review and complete")).to_be_visible()
    expect(page.get_by_text("Visa ending 3184 is pre-authorized")).to_be_visible()
    assert intents_of(localstripe, str(session["id"])) == [("requires_capture", premium)]
    page.get_by_role("button", name="Complete application").click()
    page.wait_for_url(f"{platform}/insured")
    page.close()
    assert intents_of(localstripe, str(session["id"])) == [("succeeded", premium)]


def test_another_card_instead_of_confirming_lets_the_waiting_hold_go(
    browser: Browser,
    api_url: str,
    org: Org,
    platform: str,  # noqa: F811
    localstripe: str,
) -> None:
    session = _session(api_url, org, platform)
    premium = int(session["premium"])  # type: ignore[call-overload]
    page = browser.new_page()
    _up_to_the_card(page, str(session["url"]))
    _enter_card(page, ALWAYS)
    _answer_the_bank(page, complete=True)
    expect(page.get_by_role("heading", name="Confirm your card with your bank")).to_be_visible()
    _enter_card(page, "4242424242424242")
    expect(page.get_by_role("heading", name="Review and complete")).to_be_visible()
    # The page's script asking for the released hold's challenge now (a stale tab): nothing to confirm.
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    url = str(session["url"]).split("?")[0] + "/authenticate_hold"
    answer = page.evaluate(
        """async ([url, token]) => {
            const r = await fetch(url, {method: "POST", body: new URLSearchParams({csrf_token: token})});
            return [r.status, await r.json()];
        }""",
        [url, token],
    )
    assert answer == [409, {"error": "Your card does not need confirming any more: reload this page."}]
    page.close()
    assert sorted(intents_of(localstripe, str(session["id"]))) == [
        ("canceled", premium),
        ("requires_capture", premium),
    ]


def test_from_review_a_card_whose_bank_asks_brings_the_contractor_back_to_the_card_step(
    browser: Browser,
    api_url: str,
    org: Org,
    platform: str,  # noqa: F811
    localstripe: str,
) -> None:
    """At Review with a hold on one card, the contractor goes back and enters a card whose bank asks to
    confirm it: the answer comes back on the card step, where the button to confirm it is (not on Review,
    which has none); going on with the first card captures it and lets the waiting hold go."""
    session = _session(api_url, org, platform)
    premium = int(session["premium"])  # type: ignore[call-overload]
    page = browser.new_page()
    _up_to_the_card(page, str(session["url"]))
    _enter_card(page, "4242424242424242")
    expect(page.get_by_role("heading", name="Review and complete")).to_be_visible()
    page.get_by_role("link", name="← Use another card").click()
    _enter_card(page, ALWAYS)
    _answer_the_bank(page, complete=True)  # the card's setup
    expect(page.get_by_role("heading", name="Confirm your card with your bank")).to_be_visible()
    expect(page.get_by_role("button", name="Confirm with your bank")).to_be_enabled()
    page.goto(str(session["url"]))  # Review again, with the first card's hold
    expect(page.get_by_role("heading", name="Review and complete")).to_be_visible()
    expect(page.get_by_text("Visa ending 4242 is pre-authorized")).to_be_visible()
    page.get_by_role("button", name="Complete application").click()
    page.wait_for_url(f"{platform}/insured")
    page.close()
    assert intents_of(localstripe, str(session["id"])) == [("canceled", premium), ("succeeded", premium)]


def _events(api: str, org: Org, assignment_id: str, kind: str) -> list[dict[str, Any]]:
    with httpx.Client(base_url=f"{api}/api/v1", auth=(org.sandbox_key, ""), timeout=30) as http:
        listed = http.get("/events", params={"limit": 100}).json()
    events = listed["data"] if isinstance(listed, dict) else listed
    return [e for e in events if e["type"] == kind and assignment_id in str(e)]


def test_an_off_session_charge_the_bank_wants_confirmed_waits_for_the_contractor_then_moves_once(
    browser: Browser,
    charging_api: str,  # noqa: F811
    api_url: str,
    org: Org,
    settings: Settings,
    session_factory: sessionmaker[Session],
    localstripe: str,
    smtp_sink: SmtpSink,
) -> None:
    assignment, email = _assignment(charging_api, org, settings, session_factory, localstripe, ALWAYS)
    text = _email(smtp_sink, "assignment_payment_authentication", email)
    assert "confirm the payment" in text and "not active" in text
    link = _card_link(text)
    token = link.rsplit("/cards/", 1)[1]
    with session_factory() as session:  # the stored copy keeps no usable link
        stored = session.scalars(
            select(EmailMessage).where(EmailMessage.kind == "assignment_payment_authentication")
        ).all()
        mine = [m for m in stored if (m.related or {}).get("assignment") == assignment["id"]]
        assert mine and all(token not in m.text_body + m.html_body for m in mine)
    assert _status(api_url, org, assignment["id"]) == "charge_failed"
    failed = eventually(lambda: _events(api_url, org, assignment["id"], "invoice.charge_card_failed"), 30)
    assert "authentication_required" in str(failed[0])
    assert ("succeeded", assignment["premium"]) not in intents_of(
        localstripe, assignment["id"], key="assignment"
    )

    page = browser.new_page()
    page.goto(link)
    expect(page.get_by_role("heading", name="Confirm your payment")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Confirm payment with your bank").click()
    _answer_the_bank(page, complete=False)  # first the contractor fails it: told so, the page stays
    expect(page.get_by_role("alert").filter(has_text="unable to authenticate")).to_have_text(FAILED)
    assert_accessible(page)
    page.get_by_role("button", name="Confirm payment with your bank").click()
    _answer_the_bank(page, complete=True)
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    expect(page.get_by_text("Your bank confirmed the payment")).to_be_visible()
    assert_accessible(page)
    page.close()

    eventually(lambda: _status(api_url, org, assignment["id"]) == "active", 30)
    charges = intents_of(localstripe, assignment["id"], key="assignment")
    assert [c for c in charges if c[0] == "succeeded"] == [("succeeded", assignment["premium"])], charges
    with httpx.Client(base_url=api_url, timeout=30) as again:  # the spent link takes up nothing more
        assert "Confirm payment with your bank" not in again.get(link.removeprefix(api_url)).text


def _set_up(localstripe: str, number: str, complete: bool) -> tuple[str, dict[str, Any]]:
    """A customer, and a SetupIntent confirmed with ``number`` as Stripe.js confirms it, its bank's
    challenge completed or failed (what the dialog's buttons send)."""
    client = raw_stripe(localstripe)
    customer = client.v1.customers.create(params={"email": "jane@example.com"})  # type: ignore[attr-defined]
    setup = client.v1.setup_intents.create(params={"customer": customer.id})  # type: ignore[attr-defined]
    as_stripe_js = {"key": "pk_test_gigcover", "use_stripe_sdk": True, "client_secret": setup.client_secret}
    card = {"number": number, "exp_month": "12", "exp_year": "2031", "cvc": "123"}
    first = requests.post(
        f"{localstripe}/v1/setup_intents/{setup.id}/confirm",
        json={**as_stripe_js, "payment_method_data": {"type": "card", "card": card}},
        timeout=10,
    ).json()
    assert first["status"] == "requires_action", first
    answer = requests.post(
        f"{localstripe}/v1/setup_intents/{setup.id}/{'confirm' if complete else 'cancel'}",
        json=as_stripe_js,
        timeout=10,
    ).json()
    if answer["status"] == "succeeded":
        client.v1.payment_methods.attach(answer["payment_method"], params={"customer": customer.id})  # type: ignore[attr-defined]
    return customer.id, answer


def _charge_off_session(localstripe: str, customer: str, method: str) -> Any:
    return raw_stripe(localstripe).v1.payment_intents.create(  # type: ignore[attr-defined]
        params={
            "amount": 1500,
            "currency": "usd",
            "customer": customer,
            "payment_method": method,
            "off_session": True,
            "confirm": True,
            "payment_method_types": ["card"],
        }
    )


def test_the_local_stripe_asks_for_authentication_as_stripes_test_cards_do(localstripe: str) -> None:
    customer, setup = _set_up(localstripe, SET_UP_ONCE, complete=True)
    assert _charge_off_session(localstripe, customer, setup["payment_method"]).status == "succeeded"

    customer, setup = _set_up(localstripe, ALWAYS, complete=True)
    with pytest.raises(stripe.CardError) as asked:
        _charge_off_session(localstripe, customer, setup["payment_method"])
    assert asked.value.code == "authentication_required"
    waiting = raw_stripe(localstripe).v1.payment_intents.retrieve(asked.value.error.payment_intent["id"])  # type: ignore[attr-defined,union-attr,index]
    assert waiting.status == "requires_payment_method"  # it waits for its customer, nothing moved

    customer, setup = _set_up(localstripe, SET_UP_ONCE, complete=False)
    assert setup["status"] == "requires_payment_method"  # not cancelled: the same intent takes a card again
    assert setup["last_setup_error"]["code"] == "setup_intent_authentication_failure"
