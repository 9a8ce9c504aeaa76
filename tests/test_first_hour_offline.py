"""The first hour of a new user with no internet (issue 17), in Debian's Chromium: the API docs render from
the API's own assets with every request off loopback blocked, and "Authorize" + "Try it out" work; the
local card form (localstripe's Stripe.js stand-in) is completed with the keyboard on a phone and says what
is wrong with each bad input, as Stripe.js does; the hosted pages fit a phone; the mailbox shows a long
subject decoded, on one line. Screenshots of every step are saved in each test's tmp_path."""

import re
import smtplib
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, Route, expect

from devstack.mailbox import create_viewer, start_smtp
from tests.support import Org, free_port, serve
from tests.test_application_browser import _session, platform

__all__ = ["platform"]  # a fixture shared with the application's browser test

LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
PHONE = {"width": 390, "height": 844}
REDOCLY_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


@pytest.fixture
def shots(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Path]:
    yield tmp_path
    print(f"screenshots of {request.node.name}: {tmp_path}")


def offline(page: Page) -> list[str]:
    """Blocks every request the page makes to anything but loopback; returns the list of blocked URLs."""
    blocked: list[str] = []

    def handle(route: Route) -> None:
        url = urlsplit(route.request.url)
        if url.scheme in ("http", "https", "ws", "wss") and url.hostname not in LOOPBACK:
            blocked.append(route.request.url)
            route.abort("internetdisconnected")
        else:
            route.continue_()

    page.route("**/*", handle)
    return blocked


def test_the_api_docs_work_offline(browser: Browser, api_url: str, org: Org, shots: Path) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    blocked = offline(page)

    page.goto(f"{api_url}/docs")
    categories = page.locator('.opblock-get:has(.opblock-summary-path[data-path="/api/v1/category_codes"])')
    expect(categories).to_be_visible()
    assert page.locator(".opblock").count() >= 60  # every operation is listed
    page.screenshot(path=shots / "1-swagger.png", full_page=False)

    page.locator(".auth-wrapper").get_by_role("button", name="Authorize").click()
    dialog = page.locator(".modal-ux")
    expect(dialog).to_contain_text("apiKey")
    expect(dialog).to_contain_text("Bearer")
    dialog.get_by_role("textbox").fill(org.sandbox_key)
    dialog.locator("button.authorize").click()
    expect(dialog.get_by_role("heading", name="Authorized")).to_be_visible()
    page.screenshot(path=shots / "2-swagger-authorized.png")
    dialog.locator("button.btn-done").click()

    categories.locator(".opblock-summary").click()
    categories.get_by_role("button", name="Try it out").click()
    categories.get_by_role("button", name="Execute").click()
    response = categories.locator(".live-responses-table")
    expect(response.locator("tr.response td.response-col_status")).to_have_text("200")
    expect(response.locator("tr.response td.response-col_description")).to_contain_text("jc_fHDT3r1yqfEqZVPZ")
    expect(categories.locator(".curl-command")).to_contain_text("Authorization: Bearer t9k_test_")
    categories.scroll_into_view_if_needed()
    page.screenshot(path=shots / "3-swagger-try-it-out.png")

    page.goto(f"{api_url}/redoc")
    expect(page.get_by_role("heading", name="List Category Codes")).to_be_attached()
    menu = page.locator("[role=menuitem]", has_text="List Category Codes")
    expect(menu.first).to_be_visible()
    assert page.locator("[data-section-id*='/operation/']").count() >= 60  # every operation is documented
    page.screenshot(path=shots / "4-redoc.png")
    page.close()
    # Nothing else is fetched from outside; ReDoc's "API docs by Redocly" logo hides itself when offline.
    assert [url for url in blocked if url != REDOCLY_LOGO] == [], blocked


def _expiry(years_from_now: int) -> str:
    return f"{(datetime.now(UTC).year + years_from_now) % 100:02d}"


def _type(page: Page, text: str) -> None:
    page.keyboard.type(text, delay=15)


def _retype(page: Page, text: str) -> None:
    page.keyboard.press("ControlOrMeta+a")
    _type(page, text)


def _single_line(element: Locator) -> bool:
    """Whether the element's text lays out on one line."""
    return bool(
        element.evaluate(
            "e => { const r = document.createRange(); r.selectNodeContents(e);"
            " return new Set([...r.getClientRects()].map(rect => Math.round(rect.top))).size === 1; }"
        )
    )


@pytest.mark.usefixtures("worker")
def test_the_local_card_form_on_a_phone_with_the_keyboard(
    browser: Browser, api_url: str, org: Org, platform: str, localstripe: str, shots: Path
) -> None:
    session = _session(api_url, org, platform)
    page = browser.new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    step = iter(range(1, 100))

    def shot(name: str) -> None:
        page.screenshot(path=shots / f"{next(step):02d}-{name}.png", full_page=True)

    page.goto(str(session["url"]))
    expect(page.get_by_role("heading", name="Check your details")).to_be_visible()
    shot("details")
    page.get_by_role("button", name="Continue").click()

    # Questions that wrap to two lines stay inside their box, below its top border.
    expect(page.get_by_role("heading", name="About your work")).to_be_visible()
    shot("questions")
    boxes = page.locator("fieldset").evaluate_all(
        """fieldsets => fieldsets.map(f => {
             const box = f.getBoundingClientRect(), legend = f.querySelector("legend");
             const text = legend.getBoundingClientRect();
             const line = parseFloat(getComputedStyle(legend).lineHeight);
             const style = getComputedStyle(f);  // inside the box: below its border and padding
             return {top: box.top + parseFloat(style.borderTopWidth) + parseFloat(style.paddingTop),
                     legend: text.top,
                     lines: Math.round(text.height / line)};
           })"""
    )
    assert any(box["lines"] >= 2 for box in boxes), boxes  # the phone does wrap a question
    assert all(box["legend"] >= box["top"] - 0.5 for box in boxes), boxes
    page.get_by_label("No, I work alone").check()
    page.get_by_label("No license needed, or I hold it").check()
    page.get_by_label("Years of experience in this kind of work").fill("7")
    page.get_by_role("button", name="Continue").click()

    # The whole agreement shows in the page, not in a small box that scrolls.
    expect(page.get_by_role("heading", name="Review and sign")).to_be_visible()
    agreement = page.get_by_role("region", name="Application agreement")
    assert agreement.evaluate("e => e.scrollHeight <= e.clientHeight + 1")
    # A signature that fails comes back with the box still ticked and the name as typed.
    consent = page.get_by_label("I have read and agree to the statements above.")
    page.get_by_label("Type your full name to sign").fill("Jane Do")
    consent.check()
    page.get_by_role("button", name="Sign application").click()
    expect(page.get_by_role("alert")).to_contain_text("Please type your full name exactly: Jane Doe")
    expect(consent).to_be_checked()
    expect(page.get_by_label("Type your full name to sign")).to_have_value("Jane Do")
    shot("signature-failed")
    page.get_by_label("Type your full name to sign").fill("Jane Doe")
    page.get_by_role("button", name="Sign application").click()

    expect(page.get_by_role("heading", name="Add a card")).to_be_visible()
    card = page.locator("#card-element")
    number, expiry = card.get_by_label("Card number"), card.get_by_label("Expiration date")
    cvc, postal = card.get_by_label("Security code"), card.get_by_label("ZIP code")
    for field, completes in [
        (number, "cc-number"),
        (expiry, "cc-exp"),
        (cvc, "cc-csc"),
        (postal, "postal-code"),
    ]:
        expect(field).to_have_attribute("inputmode", "numeric")
        expect(field).to_have_attribute("autocomplete", completes)
    expect(expiry).to_have_attribute("placeholder", "MM / YY")
    shot("card-form")
    problem = page.locator("#card-error")

    def says(message: str, name: str) -> None:
        expect(problem).to_have_text(message)
        expect(problem).to_be_visible()
        shot(name)

    page.keyboard.press("Tab")  # the first thing on the page a keyboard reaches is the card number
    expect(number).to_be_focused()
    page.keyboard.press("Enter")
    says("Your card number is incomplete.", "number-empty")
    _type(page, "4242 4242 4242")
    page.keyboard.press("Enter")
    says("Your card number is incomplete.", "number-incomplete")
    _retype(page, "4242424242424241")
    says("Your card number is invalid.", "number-invalid")
    _retype(page, "4000000000000002")  # a card Stripe declines
    expect(number).to_have_value("4000 0000 0000 0002")
    expect(expiry).to_be_focused()  # on to the next field, as Stripe's form does
    expect(problem).to_be_hidden()
    _type(page, "1")
    page.keyboard.press("Enter")
    says("Your card's expiration date is incomplete.", "expiry-incomplete")
    _type(page, "2" + _expiry(-1))
    expect(expiry).to_have_value(f"12 / {_expiry(-1)}")
    says("Your card's expiration year is in the past.", "expiry-past")
    _retype(page, "13")
    says("Your card's expiration month is invalid.", "expiry-month")
    _retype(page, "12" + _expiry(5))
    expect(expiry).to_have_value(f"12 / {_expiry(5)}")
    expect(cvc).to_be_focused()
    _type(page, "12")
    page.keyboard.press("Enter")
    says("Your card's security code is incomplete.", "cvc-incomplete")
    _type(page, "3")
    expect(postal).to_be_focused()
    _type(page, "941")
    page.keyboard.press("Enter")
    says("Your postal code is incomplete.", "postal-incomplete")
    _type(page, "05")
    page.keyboard.press("Enter")
    says("Your card was declined.", "declined")

    for _ in range(3):  # back to the number, by keyboard
        page.keyboard.press("Shift+Tab")
    expect(number).to_be_focused()
    _retype(page, "4546381219393284")  # accepted, then refused when pre-authorized
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_have_text("Your card has insufficient funds.")
    expect(page.get_by_role("heading", name="Add a card")).to_be_visible()
    shot("insufficient-funds")

    # American Express: 15 digits and a 4-digit security code.
    page.keyboard.press("Tab")
    expect(number).to_be_focused()
    _type(page, "378282246310005")
    expect(number).to_have_value("3782 822463 10005")
    _type(page, "12" + _expiry(5))
    _type(page, "123")
    page.keyboard.press("Enter")
    says("Your card's security code is incomplete.", "amex-cvc")
    _type(page, "4")
    _type(page, "94105")
    shot("amex")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Review and complete")).to_be_visible()
    expect(page.get_by_text("Amex ending 0005 is pre-authorized")).to_be_visible()
    shot("review")
    page.close()


def test_the_mailbox_shows_a_long_subject_on_one_line(browser: Browser, tmp_path: Path, shots: Path) -> None:
    subject = "Your gigcover receipt — coverage for Spring campaign, policy pl_12345 and café certificate"
    assert len(subject) == 90
    mail = EmailMessage()
    mail["Subject"], mail["From"], mail["To"] = subject, "gigcover <noreply@example.com>", "jane@example.com"
    mail["Date"] = formatdate()
    mail.set_content("Thank you, Jane.\nYour certificate is attached.")
    mail.add_alternative("<p>Thank you, <strong>Jane</strong>.</p>", subtype="html")
    directory = tmp_path / "mail"
    smtp = start_smtp(directory, "127.0.0.1", free_port())
    try:
        with serve(create_viewer(directory)) as url:
            with smtplib.SMTP("127.0.0.1", smtp.port) as client:
                client.send_message(mail)
            delivered = next((directory / "new").iterdir()).read_bytes()
            assert b"=?utf-8?" in delivered and re.search(
                rb"Subject: [^\n]*\r?\n ", delivered
            )  # encoded, folded

            listed = httpx.get(f"{url}/api/messages").json()
            assert [m["subject"] for m in listed] == [subject]
            one = httpx.get(f"{url}/api/messages/{listed[0]['key']}").json()
            assert one["subject"] == subject and "Thank you, Jane." in one["text"]
            assert "<strong>Jane</strong>" in one["html"] and ["Subject", subject] in one["headers"]

            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(url)
            link = page.get_by_role("link", name=subject)
            assert link.text_content() == subject and _single_line(link)
            page.screenshot(path=shots / "1-mailbox.png")
            link.click()
            heading = page.get_by_role("heading", level=1)
            expect(heading).to_have_text(subject)
            assert heading.text_content() == subject and _single_line(heading)
            html = page.frame_locator("iframe[title='HTML part']")
            expect(html.locator("strong")).to_have_text("Jane")
            expect(
                page.locator("section", has=page.get_by_role("heading", name="Text part"))
            ).to_contain_text("Your certificate is attached.")
            headers = page.locator("section", has=page.get_by_role("heading", name="Headers"))
            expect(headers.locator("tr", has_text="Subject")).to_contain_text(subject)
            page.screenshot(path=shots / "2-message.png", full_page=True)
            page.close()
    finally:
        smtp.stop()
