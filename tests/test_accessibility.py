"""The accessibility check itself (tests/accessibility.py), and axe-core run on every dashboard and hosted
page: no serious or critical violation anywhere."""

import threading
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect
from sqlalchemy.orm import Session, sessionmaker

from domain.roles import Role
from tests import accessibility
from tests.accessibility import assert_accessible
from tests.dashboard_engagements import api, billed_assignment
from tests.dashboard_support import add_member, sign_in
from tests.support import (
    Org,
    SmtpSink,
    contractor_fields,
    entity_fields,
    eventually,
    job_fields,
    unique_email,
)
from tests.test_dashboard_access import _link_in_mail

pytestmark = pytest.mark.usefixtures("worker")

STRICT_CSP = "default-src 'none'; script-src 'nonce-abc'; style-src 'nonce-abc'; base-uri 'none'"
INACCESSIBLE = """<!doctype html><html><head><title>Bad</title><style nonce="abc">.faint{color:#ccc}</style>
</head><body><p class="faint">Grey on white</p><img src="data:,"><form><input name="q"></form>
<button></button></body></html>"""
ACCESSIBLE = """<!doctype html><html lang="en"><head><title>Good</title></head><body><main><h1>Fine</h1>
<form><label for="q">Search</label><input id="q" name="q"><button>Go</button></form></main></body></html>"""


@pytest.fixture(scope="module")
def strict_pages() -> Iterator[str]:
    """Two pages served with a nonce-only CSP, like ours: one with serious violations, one without."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = (INACCESSIBLE if self.path == "/bad" else ACCESSIBLE).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Security-Policy", STRICT_CSP)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_check_fails_listing_each_serious_violation_under_a_strict_csp(
    browser: Browser, strict_pages: str
) -> None:
    page = browser.new_page()
    page.goto(f"{strict_pages}/bad")
    with pytest.raises(AssertionError) as failure:
        assert_accessible(page)
    report = str(failure.value)
    for rule in ("color-contrast", "image-alt", "label", "button-name", "html-has-lang"):
        assert f"] {rule}: " in report, report
    assert "5 serious or critical" in report and "contrast of 1.6" in report, report
    page.close()


def test_without_axe_installed_the_check_fails_and_says_how_to_install_it(
    browser: Browser, strict_pages: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(accessibility, "AXE", tmp_path / "axe.min.js")
    accessibility._axe_source.cache_clear()
    page = browser.new_page()
    page.goto(f"{strict_pages}/good")
    try:
        with pytest.raises(AssertionError, match="make install"):  # a failure, never a skip
            assert_accessible(page)
    finally:
        accessibility._axe_source.cache_clear()
        page.close()


def test_the_check_passes_a_page_without_serious_violations(browser: Browser, strict_pages: str) -> None:
    page = browser.new_page()
    page.goto(f"{strict_pages}/good")
    assert_accessible(page)
    page.close()


# ---- every page, as staff and contractors reach it -------------------------------------------------------
# The browser tests of each area check the pages they walk (assert_accessible after each step); these walk
# what no other browser test reaches: every page of the navigation (so a page added to it is checked here
# at once), the first detail page each list links to, the error state of each form, and the pages of the
# signed-out and the contractor's side.


def _refused(page: Page, form: Locator, fill: Mapping[str, str | bytes] | None = None) -> None:
    """Send ``form`` as a hurried person would, with the browser's own checks off, so that the server's
    refusal is what the page shows; then check that page."""
    form.evaluate("form => { form.noValidate = true; }")
    for label, value in (fill or {}).items():
        field = form.get_by_label(label, exact=True)
        if isinstance(value, bytes):
            field.set_input_files(files=[{"name": "file.csv", "mimeType": "text/csv", "buffer": value}])
        else:
            field.fill(value)
    form.locator("button[type=submit]").first.click()
    expect(page.get_by_role("alert").first).to_be_visible()
    assert_accessible(page)


@pytest.mark.one_database
def test_every_dashboard_page_its_details_and_its_forms_refusals_pass_the_check(
    api_url: str, org: Org, session_factory: sessionmaker[Session], browser: Browser
) -> None:
    with api(api_url, org) as http:
        contractor, job, assignment, bill = billed_assignment(http, session_factory, org)
        hook = http.post("/webhook_endpoints", json={"url": "https://platform.example/hooks"})
        assert hook.status_code == 201, hook.text
        http.post("/contractors", json=contractor_fields(unique_email("after")))  # an event to deliver
        entity = http.get(f"/jobs/{job}").json()["entity"]
    admin = add_member(session_factory, org.id)
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    sign_in(page, api_url, admin)
    nav = page.get_by_role("navigation", name="Dashboard").get_by_role("link")
    pages = [str(link.get_attribute("href")) for link in nav.all()]
    assert {"/dashboard", "/dashboard/audit", "/dashboard/billing"} <= set(pages)
    checked: list[str] = []
    for path in pages:
        page.goto(f"{api_url}{path}")
        assert_accessible(page)
        checked.append(path)
        first = page.locator("main table tbody a[href^='/dashboard/']").first
        if first.count():  # the first thing the list links to: a contractor, a job, a bill, an event…
            first.click()
            page.wait_for_load_state("load")
            assert_accessible(page)
            checked.append(page.url.removeprefix(api_url))
    for path in (
        f"/dashboard/contractors/{contractor}",
        f"/dashboard/jobs/{job}",
        f"/dashboard/assignments/{assignment['id']}",
        f"/dashboard/billing/bills/{bill['id']}",
        f"/dashboard/webhooks/{hook.json()['id']}",
        "/dashboard/contractors/upload",
    ):
        page.goto(f"{api_url}{path}")
        assert_accessible(page)

    page.set_viewport_size({"width": 390, "height": 844})  # on a phone, where wide tables scroll
    for path in checked:
        page.goto(f"{api_url}{path}")
        assert_accessible(page)
    page.set_viewport_size({"width": 1280, "height": 800})

    # each form's refusal, as the page shows it
    assignment_page, bill_page = (
        f"/dashboard/assignments/{assignment['id']}",
        f"/dashboard/billing/bills/{bill['id']}",
    )
    for path, action, fill in (
        ("/dashboard/jobs", "/dashboard/jobs", {}),
        ("/dashboard/jobs", "/dashboard/jobs/entities", {}),
        (f"/dashboard/jobs/{job}", f"/dashboard/jobs/{job}", {"Wage in dollars": "lots"}),
        ("/dashboard/assignments", "/dashboard/assignments", {}),
        (assignment_page, f"{assignment_page}/final-pay", {}),
        (assignment_page, f"{assignment_page}/extend", {}),
        (bill_page, f"{bill_page}/pay", {"Amount (USD)": "a lot"}),
        ("/dashboard/billing", "/dashboard/billing/details", {"Billing contact email": "x"}),
        ("/dashboard/webhooks", "/dashboard/webhooks", {"URL": "not a url"}),
        ("/dashboard/team", "/dashboard/team/invite", {"Email": "not-an-email"}),
        ("/dashboard/contractors/upload", "/dashboard/contractors/upload", {"CSV file": b"x,y\n1,2\n"}),
        ("/dashboard/settings", "/dashboard/settings/creatoriq", {}),
        (f"/dashboard/jobs/entities/{entity}", f"/dashboard/jobs/entities/{entity}", {"Name": ""}),
        (
            f"/dashboard/webhooks/{hook.json()['id']}",
            f"/dashboard/webhooks/{hook.json()['id']}/edit",
            {"URL": "x"},
        ),
    ):
        page.goto(f"{api_url}{path}")
        form = page.locator(f"form[method=post][action='{action}']")
        folded = page.locator("details:not([open])", has=form).locator("> summary")
        if folded.count():  # a form folded away (billing details) is opened as a person would
            folded.first.click()
        _refused(page, form, fill)
    page.close()
    assert len(checked) >= len(pages)


@pytest.mark.one_database
def test_the_signed_out_pages_and_their_refusals_pass_the_check(
    api_url: str, org: Org, session_factory: sessionmaker[Session], smtp_sink: SmtpSink, browser: Browser
) -> None:
    email = add_member(session_factory, org.id, Role.FINANCE)
    page = browser.new_page(viewport={"width": 390, "height": 844})  # staff on a phone, too
    page.goto(f"{api_url}/dashboard/sign-in")
    assert_accessible(page)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("not the password at all")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page.get_by_role("heading", name="Reset your password")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Email me a link").click()
    expect(page.get_by_role("status")).to_be_visible()
    assert_accessible(page)
    page.goto(_link_in_mail(smtp_sink, email, "/dashboard/reset/"))
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    assert_accessible(page)
    _refused(page, page.locator("form").first, {"New password (at least 12 characters)": "short"})
    page.goto(f"{api_url}/dashboard/reset/not-a-token")
    assert_accessible(page)
    page.close()


def _application(api_url: str, org: Org) -> dict[str, str]:
    with api(api_url, org) as http:
        entity = http.post("/entities", json=entity_fields()).json()["id"]
        contractor = http.post("/contractors", json=contractor_fields(unique_email("apply"))).json()["id"]
        job = http.post("/jobs", json=job_fields(entity)).json()["id"]
        quote = http.post(
            "/quotes", json={"contractor": contractor, "job": job, "coverage_type": ["general"]}
        )
        made = http.post(
            "/apply/sessions",
            json={
                "quote": quote.json()["id"],
                "success_url": "https://platform.example/insured",
                "cancel_url": "https://platform.example/cancelled",
            },
        )
        assert made.status_code == 201, made.text
    return dict(made.json())


def _details_and_questions(page: Page, url: str, claims: str, refuse: bool = False) -> None:
    page.goto(url)
    expect(page.get_by_role("heading", name="Check your details")).to_be_visible()
    if refuse:
        _refused(page, page.locator("form").first, {"First name": "", "Street address": ""})
    page.get_by_label("Street address").fill("500 Market St")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="About your work")).to_be_visible()
    if refuse:
        _refused(page, page.locator("form").first)  # nothing answered
    page.get_by_label("No, I work alone").check()
    page.get_by_label("No license needed, or I hold it").check()
    page.get_by_label("Insurance claims you made in the last three years").fill(claims)
    page.get_by_label("Years of experience in this kind of work").fill("7")
    page.get_by_role("button", name="Continue").click()


@pytest.mark.one_database
def test_the_contractors_pages_that_end_or_refuse_pass_the_check(
    api_url: str, org: Org, browser: Browser
) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
    _details_and_questions(page, _application(api_url, org)["url"], "0", refuse=True)
    expect(page.get_by_role("heading", name="Review and sign")).to_be_visible()
    _refused(page, page.locator("form").first)  # not signed

    session = _application(api_url, org)
    _details_and_questions(page, session["url"], "4")  # many claims: an underwriter looks first
    expect(page.get_by_role("heading", name="An underwriter is reviewing your answers")).to_be_visible()
    assert_accessible(page)
    for path in ("/apply/finished", "/apply/not-a-token", "/cards/not-a-token", "/certificates/not-a-token"):
        page.goto(f"{api_url}{path}")
        assert_accessible(page)
    with api(api_url, org) as http:
        eventually(lambda: http.post(f"/apply/sessions/{session['id']}/expire").status_code == 200)
    page.goto(session["url"])
    expect(page.get_by_role("heading", name="This application has expired")).to_be_visible()
    assert_accessible(page)
    page.close()
