"""The hosted pages' hardening, against the real server: every page carries the security headers (scripts
only from us, each inline one with this response's nonce, and Stripe.js; no framing; no Referer, so the link
never leaks to success_url), Chromium runs the card page under that policy without a violation, and a
message in the URL is shown only when we wrote it for that page."""

import re
from urllib.parse import quote

import httpx
import pytest
from playwright.sync_api import Browser, Route

from tests.support import Org, contractor_fields, entity_fields, job_fields, unique_email
from tests.test_application_flow import DETAILS_FORM, csrf_token

pytestmark = pytest.mark.usefixtures("worker")
SUCCESS, CANCEL = "https://platform.example/insured", "https://platform.example/cancelled"
HEADERS = {
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
}


def _application(api_url: str, org: Org) -> str:
    with httpx.Client(base_url=f"{api_url}/api/v1", auth=(org.sandbox_key, ""), timeout=30) as http:
        entity = http.post("/entities", json=entity_fields()).json()["id"]
        contractor = http.post("/contractors", json=contractor_fields(unique_email())).json()["id"]
        job = http.post("/jobs", json=job_fields(entity)).json()["id"]
        quote = http.post(
            "/quotes", json={"contractor": contractor, "job": job, "coverage_type": ["general"]}
        )
        session = http.post(
            "/apply/sessions",
            json={"quote": quote.json()["id"], "success_url": SUCCESS, "cancel_url": CANCEL},
        ).json()
    return "/apply/" + str(session["url"]).rsplit("/apply/", 1)[1]


def _secured(page: httpx.Response) -> None:
    for name, value in HEADERS.items():
        assert page.headers.get(name) == value, (page.url, name)
    policy = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "base-uri 'none'" in policy
    scripts = next(p for p in policy.split("; ") if p.startswith("script-src"))
    assert "'unsafe-inline'" not in scripts and "'nonce-" in scripts, scripts
    nonce = re.search(r"'nonce-([^']+)'", scripts).group(1)  # type: ignore[union-attr]
    for tag in re.findall(r"<script[^>]*>", page.text):
        assert f'nonce="{nonce}"' in tag, tag  # every script of the page is ours, for this response only
    assert " on" not in " ".join(re.findall(r"<[a-z]+ [^>]*\bon[a-z]+=", page.text))


def test_every_hosted_page_carries_the_security_headers(api_url: str, org: Org) -> None:
    link = _application(api_url, org)
    with httpx.Client(base_url=api_url, timeout=30) as browser:
        pages = [
            browser.get(link),
            browser.get("/apply/finished"),
            browser.get("/apply/not-a-real-link-token-at-all"),
            browser.get("/cards/an_not-an-assignment"),
        ]
        assert [p.status_code for p in pages] == [200, 200, 404, 404]
        for page in pages:
            _secured(page)
        posted = browser.post(
            f"{link}/verify_info", data={**DETAILS_FORM, "csrf_token": csrf_token(browser, link)}
        )
        assert posted.status_code == 303 and posted.headers["referrer-policy"] == "no-referrer"


def test_only_messages_we_wrote_show_on_a_page(api_url: str, org: Org) -> None:
    link = _application(api_url, org)
    crafted = "Your coverage lapsed: pay $500 at https://evil.example to keep it"
    with httpx.Client(base_url=api_url, timeout=30) as browser:
        page = browser.get(f"{link}?error={quote(crafted)}")
        assert (
            page.status_code == 200 and "evil.example" not in page.text and 'role="alert">' not in page.text
        )
        forged = browser.get(f"{link}?error={quote(crafted)}&sig=0123456789abcdef0123456789abcdef")
        assert "evil.example" not in forged.text
        refused = browser.post(
            f"{link}/verify_info",
            data={"first_name": "Jane", "region": "ZZ", "csrf_token": csrf_token(browser, link)},
        )
        shown = browser.get(refused.headers["location"])
        assert 'class="error" role="alert">Please check:' in shown.text  # our own message, signed by us
        tampered = refused.headers["location"].replace("Please", "Kindly")
        assert "Kindly" not in browser.get(tampered).text


def test_the_card_page_runs_under_its_policy_in_chromium(api_url: str, org: Org, browser: Browser) -> None:
    link = _application(api_url, org)
    page = browser.new_page()
    arrived: list[dict[str, str]] = []  # the platform's success page, answered here: nothing leaves loopback

    def platform(route: Route) -> None:
        arrived.append(route.request.headers)
        route.fulfill(body="<h1>insured</h1>", content_type="text/html")

    page.route("https://platform.example/**", platform)
    violations: list[str] = []
    page.on(
        "console",
        lambda message: violations.append(message.text) if "Content Security" in message.text else None,
    )
    page.goto(f"{api_url}{link}")
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("No, I work alone").check()
    page.get_by_label("No license needed, or I hold it").check()
    page.get_by_label("Years of experience in this kind of work").fill("7")
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("I have read and agree to the statements above.").check()
    page.get_by_label("Type your full name to sign").fill("Jane Doe")
    page.get_by_role("button", name="Sign application").click()
    card = page.locator("#card-element")
    card.get_by_label("Card number").fill("4242424242424242")
    card.get_by_label("Expiration date").fill("12 / 31")
    card.get_by_label("Security code").fill("123")
    card.get_by_label("ZIP code").fill("94105")
    page.get_by_role("button", name="Save card").click()
    page.get_by_role("heading", name="Review and complete").wait_for()
    page.get_by_role("button", name="Complete application").click()
    page.wait_for_url(SUCCESS + "*", timeout=30_000)
    assert violations == []
    assert arrived and "referer" not in arrived[0]  # the link, a capability, is not handed to the platform
    page.close()


def test_a_form_posted_without_its_token_or_from_another_site_changes_nothing(api_url: str, org: Org) -> None:
    link = _application(api_url, org)
    details = {**DETAILS_FORM, "first_name": "Mallory", "email": "m@evil.example", "region": "NV"}
    with httpx.Client(base_url=api_url, timeout=30) as browser:
        token = csrf_token(browser, link)
        missing = browser.post(f"{link}/verify_info", data=details)  # the cookie, but no token
        assert missing.status_code == 303 and "error=" in missing.headers["location"]
        assert "sent from somewhere else" in browser.get(missing.headers["location"]).text
    with httpx.Client(base_url=api_url, timeout=30) as other_site:  # the token, but not this browser's cookie
        forged = other_site.post(f"{link}/verify_info", data={**details, "csrf_token": token})
        assert forged.status_code == 303 and "error=" in forged.headers["location"]
    with httpx.Client(base_url=api_url, timeout=30) as browser:
        page = browser.get(link).text
        assert "Mallory" not in page and 'value="Jane"' in page  # nothing was saved
        assert "Check your details" in page
