"""The insurance application end to end over HTTP: the API, the hosted pages, the real worker on the dev
server, and localstripe. (tests/test_application_browser.py clicks the same pages in Chromium.)"""

import json
import os
import re
import subprocess
import sys
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
import stripe

from common.settings import Settings
from tests.support import (
    Org,
    SmtpSink,
    WebhookReceiver,
    contractor_fields,
    entity_fields,
    eventually,
    intents_of,
    job_fields,
    unique_email,
)

pytestmark = pytest.mark.usefixtures("worker")
ROOT = Path(__file__).resolve().parent.parent
SUCCESS, CANCEL = "https://platform.example/insured", "https://platform.example/cancelled"
DETAILS_FORM = {  # the "Your details" page as the contractor sends it
    "first_name": "Jane",
    "last_name": "Doe",
    "email": "jane.doe@example.com",
    "phone": "5551234567",
    "line1": "1 Market St",
    "line2": "",
    "locality": "San Francisco",
    "region": "CA",
    "postalcode": "94105",
}


def _quote(http: httpx.Client, **job: object) -> dict[str, object]:
    entity = http.post("/entities", json=entity_fields()).json()["id"]
    contractor = http.post("/contractors", json=contractor_fields()).json()["id"]
    job_id = http.post("/jobs", json=job_fields(entity, **job)).json()["id"]
    quote = http.post(
        "/quotes",
        json={"contractor": contractor, "job": job_id, "coverage_type": ["general", "workers-comp"]},
    )
    assert quote.status_code == 201, quote.text
    return dict(quote.json())


def _page(browser: httpx.Client, url: str) -> httpx.Response:
    deadline = time.monotonic() + 10
    while True:  # the workflow may take a moment to start after the session is created
        page = browser.get(url)
        if page.status_code == 200 or time.monotonic() > deadline:
            return page
        time.sleep(0.1)


TOKENS: dict[tuple[int, str], str] = {}


def csrf_token(browser: httpx.Client, page: str) -> str:
    """The form token of a hosted page, as a browser holding its cookie would post it (the same one again
    once the page has moved on: a second click posts the form the browser still shows)."""
    if (id(browser), page) not in TOKENS:
        found = re.search(r'name="csrf_token" value="([^"]+)"', browser.get(page).text)
        assert found, page
        TOKENS[(id(browser), page)] = found.group(1)
    return TOKENS[(id(browser), page)]


def _post(browser: httpx.Client, url: str, data: dict[str, str]) -> httpx.Response:
    response = browser.post(url, data={"csrf_token": csrf_token(browser, url.rsplit("/", 1)[0]), **data})
    assert response.status_code == 303, response.text
    return response


def _answer_questions(browser: httpx.Client, url: str, claims: int = 0) -> str:
    """The first two pages, as a contractor fills them; returns the application's path."""
    base = "/" + url.split("127.0.0.1", 1)[1].split("/", 1)[1]
    page = _page(browser, base)
    assert "Check your details" in page.text and 'value="Jane"' in page.text
    _post(browser, f"{base}/verify_info", DETAILS_FORM)
    assert "About your work" in browser.get(base).text
    _post(
        browser,
        f"{base}/application_questions",
        {
            "hires_workers": "no",
            "licensed_if_required": "yes",
            "claims_last_three_years": str(claims),
            "years_experience": "6",
        },
    )
    return base


def _fill_application(browser: httpx.Client, url: str, card_number: str | None, localstripe: str) -> str:
    """Walk the pages like a contractor; returns where the last redirect went."""
    return _sign_and_pay(browser, _answer_questions(browser, url), card_number, localstripe)


def _sign_and_pay(browser: httpx.Client, base: str, card_number: str | None, localstripe: str) -> str:
    """From the signature page to the end; returns where the last redirect went."""
    assert "Review and sign" in browser.get(base).text
    _post(browser, f"{base}/esignature_document", {"typed_name": "Jane Doe", "consent": "yes"})
    page = browser.get(base)
    if card_number is not None:
        assert "pre-authorize" in page.text
        secret = re.search(r'confirmCardSetup\("(seti_[^"]+)"', page.text)
        assert secret, page.text
        # What Stripe.js does in the browser: make the card a PaymentMethod and confirm the SetupIntent.
        raw = stripe.StripeClient("sk_test_as_stripe_js", base_addresses={"api": localstripe})
        method = raw.v1.payment_methods.create(
            params={
                "type": "card",
                "card": {
                    "number": card_number,
                    "exp_month": 12,
                    "exp_year": 2031,
                    "cvc": "1234" if card_number.startswith(("34", "37")) else "123",  # Amex: 4 digits
                },
            }
        )
        saved = _post(browser, f"{base}/add_card_details", {"payment_method_id": method.id})
        page = browser.get(saved.headers["location"])
        if "Review and complete" not in page.text:
            return page.text
    assert "Review and complete" in page.text
    done = _post(browser, f"{base}/final_review", {})
    return done.headers["location"]


def test_a_card_paid_application_binds_coverage(
    api_url: str, org: Org, localstripe: str, smtp_sink: SmtpSink, receiver: tuple[WebhookReceiver, str]
) -> None:
    hook, hook_url = receiver
    with (
        httpx.Client(base_url=f"{api_url}/api/v1", auth=(org.sandbox_key, ""), timeout=30) as http,
        httpx.Client(base_url=api_url, timeout=60) as browser,
    ):
        http.post("/webhook_endpoints", json={"url": hook_url})
        quote = _quote(http)
        created = http.post(
            "/apply/sessions", json={"quote": quote["id"], "success_url": SUCCESS, "cancel_url": CANCEL}
        )
        assert created.status_code == 201, created.text
        session = created.json()
        assert session["id"].startswith("ias_") and len(session["id"]) == 30
        assert (session["step"], session["status"], session["premium"]) == (
            "verify_info",
            "CREATED",
            quote["premium_due"],
        )

        assert _fill_application(browser, session["url"], "4242424242424242", localstripe) == SUCCESS
        reopened = browser.get(session["url"].split(api_url)[1])  # the emailed link, once the work is done
        assert (reopened.status_code, reopened.headers.get("location")) == (303, SUCCESS)

        done = http.get(f"/apply/sessions/{session['id']}").json()
        assert (done["step"], done["status"]) == ("application_complete", "APPLICATION_COMPLETE")
        policy = http.get(f"/policies/{done['policy']}").json()
        assert policy["status"] == "active" and policy["quote"] == quote["id"]
        assert policy["certificates"]["gl_coi_pdf_url"] and policy["certificates"]["wc_coi_pdf_url"]

        # One captured charge for the premium in Stripe.
        assert intents_of(localstripe, session["id"]) == [("succeeded", quote["premium_due"])]

        eventually(  # recorded as the workflow finishes, which may be a moment after the redirect
            lambda: (
                {"application.complete", "policy.active"}
                <= {e["type"] for e in http.get("/events", params={"limit": 20}).json()}
            ),
            timeout=15,
        )
        hook.wait_for(2)
        complete = next(e for e in http.get("/events", params={"type": "application.complete"}).json())
        assert complete["data"]["certificates"]["wc_coi_pdf_url"] == policy["certificates"]["wc_coi_pdf_url"]

        message_id = f"<em_confirm_{session['id'].removeprefix('ias_')}@gigcover>"
        deadline = time.monotonic() + 15
        while not (mine := [m for m in smtp_sink.messages if m["Message-ID"] == message_id]):  # type: ignore[index]
            assert time.monotonic() < deadline, "no payment confirmation email"
            time.sleep(0.1)
        assert mine[0]["To"] == "jane.doe@example.com"  # type: ignore[index]
        assert mine[0]["X-Gigcover-Kind"] == "payment_confirmation"  # type: ignore[index]


def test_the_insufficient_funds_card_is_declined_then_another_card_works(
    api_url: str, org: Org, localstripe: str
) -> None:
    with (
        httpx.Client(base_url=f"{api_url}/api/v1", auth=(org.sandbox_key, ""), timeout=30) as http,
        httpx.Client(base_url=api_url, timeout=60) as browser,
    ):
        quote = _quote(http)
        session = http.post(
            "/apply/sessions", json={"quote": quote["id"], "success_url": SUCCESS, "cancel_url": CANCEL}
        ).json()
        page = _fill_application(browser, session["url"], "4546381219393284", localstripe)
        assert "Your card has insufficient funds." in page and "Add a card" in page
        assert http.get(f"/apply/sessions/{session['id']}").json()["step"] == "add_card_details"

        base = "/" + session["url"].split("127.0.0.1", 1)[1].split("/", 1)[1]
        raw = stripe.StripeClient("sk_test_as_stripe_js", base_addresses={"api": localstripe})
        method = raw.v1.payment_methods.create(
            params={
                "type": "card",
                "card": {"number": "5555555555554444", "exp_month": 12, "exp_year": 2031, "cvc": "123"},
            }
        )
        _post(browser, f"{base}/add_card_details", {"payment_method_id": method.id})
        assert "Review and complete" in browser.get(base).text
        assert _post(browser, f"{base}/final_review", {}).headers["location"] == SUCCESS
        # Reloading afterwards, or posting the final form again, changes nothing.
        assert browser.get(base).headers["location"] == SUCCESS
        assert _post(browser, f"{base}/final_review", {}).headers["location"] == SUCCESS
    statuses = [status for status, _ in intents_of(localstripe, session["id"])]
    assert statuses == ["canceled", "succeeded"]  # the declined attempt was released; one charge


def test_withheld_premium_skips_the_card_and_bills_the_organization(
    api_url: str, org: Org, localstripe: str
) -> None:
    with (
        httpx.Client(base_url=f"{api_url}/api/v1", auth=(org.sandbox_key, ""), timeout=30) as http,
        httpx.Client(base_url=api_url, timeout=60) as browser,
    ):
        quote = _quote(http, withhold_premium=True)
        session = http.post(
            "/apply/sessions", json={"quote": quote["id"], "success_url": SUCCESS, "cancel_url": CANCEL}
        ).json()
        assert session["withhold_premium"] is True
        assert _fill_application(browser, session["url"], None, localstripe) == SUCCESS
        done = http.get(f"/apply/sessions/{session['id']}").json()
        bill = http.get(f"/bills/{done['bill']}").json()
    assert bill["amount_due"] == quote["premium_due"] and bill["due_date"] - bill["bill_date"] == 30 * 86_400
    assert httpx.get(bill["pdf_url"]).headers["content-type"] == "application/pdf"


def test_session_rules_and_expiry_through_the_api(api_url: str, org: Org) -> None:
    with httpx.Client(base_url=f"{api_url}/api/v1", auth=(org.sandbox_key, ""), timeout=30) as http:
        quote = _quote(http)
        missing = http.post("/apply/sessions", json={"success_url": SUCCESS, "cancel_url": CANCEL})
        assert missing.status_code == 400 and "quote" in missing.json()["message"]
        contractor = quote["contractor"]
        card_paid = http.post(
            "/apply/sessions",
            json={
                "contractor": contractor,
                "is_general_opt_in": True,
                "work_state": "CA",
                "success_url": SUCCESS,
                "cancel_url": CANCEL,
            },
        )
        assert card_paid.status_code == 400 and "withheld premium" in card_paid.json()["message"]
        http.put(f"/contractors/{contractor}", json={"withhold_premium": True})
        ohio = http.post(
            "/apply/sessions",
            json={
                "contractor": contractor,
                "is_general_opt_in": True,
                "work_state": "OH",
                "success_url": SUCCESS,
                "cancel_url": CANCEL,
            },
        )
        assert ohio.status_code == 400 and "state fund" in ohio.json()["message"]
        assert http.get("/apply/sessions").json() == []

        session = http.post(
            "/apply/sessions", json={"quote": quote["id"], "success_url": SUCCESS, "cancel_url": CANCEL}
        ).json()
        again = http.post(
            "/apply/sessions", json={"quote": quote["id"], "success_url": SUCCESS, "cancel_url": CANCEL}
        )
        assert again.status_code == 409
        moved = http.put(
            f"/apply/sessions/{session['id']}", json={"success_url": "https://platform.example/new"}
        )
        assert moved.json()["success_url"] == "https://platform.example/new"
        assert http.put(f"/apply/sessions/{session['id']}", json={"quote": "qt_x"}).status_code == 400

        deadline = time.monotonic() + 10
        while (expired := http.post(f"/apply/sessions/{session['id']}/expire")).status_code == 503:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert expired.status_code == 200, expired.text
        assert (expired.json()["status"], expired.json()["expired"]) == ("EXPIRED", True)
        twice = http.post(f"/apply/sessions/{session['id']}/expire")
        assert (twice.status_code, twice.json()["error_code"]) == (409, "session_expired")
        assert (
            http.get("/events", params={"type": "application.expired"}).json()[0]["data"]["id"]
            == session["id"]
        )
        page = httpx.get(session["url"])
        assert "This application has expired" in page.text and CANCEL in page.text


async def test_ops_find_applications_by_search_attributes(
    temporal_address: str, api_url: str, org: Org, smtp_sink: SmtpSink
) -> None:
    import asyncio

    from temporalio.client import Client

    async with httpx.AsyncClient(
        base_url=f"{api_url}/api/v1", auth=(org.sandbox_key, ""), timeout=30
    ) as http:
        fields = contractor_fields(unique_email(), withhold_premium=True)
        contractor = (await http.post("/contractors", json=fields)).json()
        created = await http.post(
            "/apply/sessions",
            json={
                "contractor": contractor["id"],
                "is_general_opt_in": True,
                "general_opt_in_work_state": "NY",
                "success_url": SUCCESS,
                "cancel_url": CANCEL,
                "send_email": True,
            },
        )
        assert created.status_code == 201, created.text
        session = created.json()
        assert (
            session["is_general_opt_in"],
            session["work_state"],
            session["coverage_type"],
            session["premium"],
        ) == (True, "NY", ["workers-comp"], 0)
        listed = (
            await http.get(
                "/apply/sessions", params={"contractor": contractor["id"], "is_general_opt_in": "true"}
            )
        ).json()
        assert [s["id"] for s in listed] == [session["id"]]

    client = await Client.connect(temporal_address)
    query = f'SessionId = "{session["id"]}" AND OrganizationId = "{org.id}" AND Step = "verify_info"'
    found: list[str] = []
    for _ in range(100):  # visibility is eventually consistent
        found = [w.id async for w in client.list_workflows(query)]
        if found:
            break
        await asyncio.sleep(0.1)
    assert found == [f"application-{session['id']}"]
    described = await client.get_workflow_handle(found[0]).describe()
    assert await described.static_summary() == f"Insurance application {session['id']}"

    for _ in range(100):
        links = [
            m
            for m in smtp_sink.messages
            if m["X-Gigcover-Kind"] == "application_link"  # type: ignore[index]
            and m["To"] == contractor["email"]
        ]  # type: ignore[index]
        if links:
            break
        await asyncio.sleep(0.1)
    assert links and session["url"] in links[0].get_body(("plain",)).get_content()  # type: ignore[attr-defined]
    unknown = httpx.get(session["url"].replace(session["url"].rsplit("/", 1)[1], "not-a-real-token"))
    assert unknown.status_code == 404 and "This link does not work" in unknown.text


def _manage(settings: Settings, *arguments: str) -> subprocess.CompletedProcess[str]:
    """The operator's command line, against this test's database and Temporal."""
    env = {
        **os.environ,
        "GIGCOVER_DATABASE_URL": settings.resolved_database_url,
        "GIGCOVER_TEMPORAL_ADDRESS": settings.temporal_address,
    }
    return subprocess.run(
        [sys.executable, "manage.py", *arguments], cwd=ROOT, env=env, capture_output=True, text=True
    )


def _mail(smtp_sink: SmtpSink, message_id: str) -> EmailMessage:
    found = eventually(lambda: [m for m in smtp_sink.messages if m["Message-ID"] == message_id])
    return found[0]  # type: ignore[no-any-return]


def _delivered(hook: WebhookReceiver, event_type: str, timeout: float = 15) -> dict[str, Any]:
    """The event of ``event_type`` the receiver got (waiting up to ``timeout``: less than the outbox sweep's
    minute, so an event the worker did not send at once fails)."""

    def received() -> list[dict[str, Any]]:
        return [e for e in (json.loads(body) for _, body in hook.requests) if e["type"] == event_type]

    return eventually(received, timeout)[0]


def _under_review(http: httpx.Client, browser: httpx.Client, claims: int) -> tuple[dict[str, str], str]:
    quote = _quote(http)
    session = http.post(
        "/apply/sessions", json={"quote": quote["id"], "success_url": SUCCESS, "cancel_url": CANCEL}
    ).json()
    base = _answer_questions(browser, session["url"], claims=claims)
    return session, base


def test_an_underwriter_approves_many_claims_and_the_contractor_continues(
    api_url: str,
    org: Org,
    localstripe: str,
    smtp_sink: SmtpSink,
    receiver: tuple[WebhookReceiver, str],
    settings: Settings,
) -> None:
    hook, hook_url = receiver
    with (
        httpx.Client(base_url=f"{api_url}/api/v1", auth=(org.sandbox_key, ""), timeout=30) as http,
        httpx.Client(base_url=api_url, timeout=60) as browser,
    ):
        types = ["application.started", "application.manual_review", "application.manual_review_approved"]
        http.post("/webhook_endpoints", json={"url": hook_url, "events": types})
        session, base = _under_review(http, browser, claims=4)
        page = browser.get(base).text
        assert "An underwriter is reviewing your answers" in page and "jane.doe@example.com" in page
        assert "<form" not in page  # nothing to submit while they decide
        refused = _post(browser, f"{base}/esignature_document", {"typed_name": "Jane Doe", "consent": "yes"})
        assert "An underwriter is reviewing your answers" in browser.get(refused.headers["location"]).text
        assert http.get(f"/apply/sessions/{session['id']}").json()["status"] == "MANUAL_REVIEW"
        started = _delivered(hook, "application.started")  # at once, by the worker, not by the sweep
        assert (started["data"]["id"], started["data"]["status"]) == (session["id"], "IN_PROGRESS")
        held = _delivered(hook, "application.manual_review")
        assert (held["data"]["id"], held["data"]["status"]) == (session["id"], "MANUAL_REVIEW")

        pending = _manage(settings, "pending-reviews")
        assert session["id"] in pending.stdout and "claims_last_three_years 4" in pending.stdout
        decided = _manage(settings, "review-application", session["id"], "approve")
        assert decided.returncode == 0 and "IN_PROGRESS, at esignature_document" in decided.stdout, decided
        approved = _delivered(hook, "application.manual_review_approved")
        assert (approved["data"]["id"], approved["data"]["step"]) == (session["id"], "esignature_document")
        mail = _mail(smtp_sink, f"<em_review_{session['id'].removeprefix('ias_')}@gigcover>")
        assert mail["To"] == "jane.doe@example.com"
        assert mail["X-Gigcover-Kind"] == "application_review_approved"
        assert session["url"] in mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]

        assert _sign_and_pay(browser, base, "4242424242424242", localstripe) == SUCCESS  # the emailed link
        again = _manage(settings, "review-application", session["id"], "decline")
        assert again.returncode == 1 and "is not under review" in again.stderr
    assert intents_of(localstripe, session["id"]) == [("succeeded", session["premium"])]


def test_an_underwriter_declines_many_claims_with_a_reason(
    api_url: str, org: Org, smtp_sink: SmtpSink, receiver: tuple[WebhookReceiver, str], settings: Settings
) -> None:
    hook, hook_url = receiver
    reason = "Three water-damage claims since 2024 are outside what this program covers."
    with (
        httpx.Client(base_url=f"{api_url}/api/v1", auth=(org.sandbox_key, ""), timeout=30) as http,
        httpx.Client(base_url=api_url, timeout=60) as browser,
    ):
        http.post("/webhook_endpoints", json={"url": hook_url, "events": ["application.ineligible"]})
        session, base = _under_review(http, browser, claims=3)
        decided = _manage(settings, "review-application", session["id"], "decline", "--reason", reason)
        assert decided.returncode == 0 and "INELIGIBLE" in decided.stdout, decided
        [(_, body)] = hook.wait_for(1)
        event = json.loads(body)
        assert (event["type"], event["data"]["id"], event["data"]["reason"]) == (
            "application.ineligible",
            session["id"],
            reason,
        )
        page = browser.get(base).text
        assert "We cannot offer this coverage" in page and reason in page and CANCEL in page
        done = http.get(f"/apply/sessions/{session['id']}").json()
        assert (done["status"], done["ended_reason"]) == ("INELIGIBLE", reason)
        mail = _mail(smtp_sink, f"<em_review_{session['id'].removeprefix('ias_')}@gigcover>")
        assert mail["X-Gigcover-Kind"] == "application_review_declined"
        assert reason in mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    unknown = _manage(settings, "review-application", "ias_nosuchapplication", "approve")
    assert unknown.returncode == 1 and "No such session" in unknown.stderr
