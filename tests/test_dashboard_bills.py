"""A bill as finance staff read it, through a real server, the real worker, Chromium and SMTP: each line names
the job, coverage and period it is for (on the page, in the PDF and in the API's lines); every new bill id has
one shape; a PO contact that is the organization's billing contact says so; the amount field shows a hint,
not a value-like placeholder; a refused payment says what to do; the overdue email speaks to finance staff and
links to the bill's page."""

import html
import io
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, expect
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from common.bill_ids import derived_bill_id
from common.ids import new_id
from common.settings import Settings
from db.models import Bill
from domain.roles import Role
from notifications.render import money
from tests.dashboard_engagements import active, api, billed_assignment, billing_contact, bills_of
from tests.dashboard_support import add_member, readme_screenshot, sign_in, signed_in
from tests.support import (
    Org,
    SmtpSink,
    contractor_fields,
    entity_fields,
    eventually,
    job_fields,
    unique_email,
)
from tests.test_assignments_api import _opt_in
from tests.test_engagements import _lifecycle_sweep

pytestmark = pytest.mark.usefixtures("worker")

# One shape: "bl_" and a ULID's 26 Crockford base32 characters (bl_01M95J…).
BILL_ID = re.compile(r"^bl_[0-7][0-9A-HJKMNP-TV-Z]{25}$")
JOB_NAME = "Harbor photo shoot"


def _day(ts: int) -> str:
    moment = datetime.fromtimestamp(ts, UTC)
    return f"{moment:%b} {moment.day}, {moment.year}"


def _bill_without_po_contact(
    http: httpx.Client, factory: sessionmaker[Session], org: Org
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A remit assignment on a job whose metadata has a PO number but no PO contact, active, and its bill."""
    billing_contact(http, org)
    entity = http.post("/entities", json=entity_fields()).json()["id"]
    contractor = http.post(
        "/contractors", json=contractor_fields(unique_email("bills"), withhold_premium=True)
    ).json()["id"]
    job = http.post(
        "/jobs",
        json=job_fields(entity, name=JOB_NAME, custom_metadata={"purchase_order_number": "PO-5150"}),
    )
    assert job.status_code == 201, job.text
    _opt_in(factory, org, contractor, "CA")
    made = http.post(
        "/assignments",
        json={"contractor": contractor, "job": job.json()["id"], "coverage_type": ["workers-comp"]},
    )
    assert made.status_code == 201, made.text
    assignment = active(http, made.json()["id"])
    (bill,) = eventually(lambda: bills_of(http, contractor), timeout=30)
    return assignment, bill


def test_a_bill_names_the_job_coverage_and_period_and_whose_po_contact_it_is(
    api_url: str, org: Org, session_factory: sessionmaker[Session], browser: Browser
) -> None:
    with api(api_url, org) as http:
        assignment, bill = _bill_without_po_contact(http, session_factory, org)
        pdf = httpx.get(bill["pdf_url"], timeout=30).content
    period = f"{_day(assignment['effective_date'])} to {_day(assignment['end_date'])}"

    # the API: one id shape, and each line's job, coverage and period (its first fields as they were)
    assert BILL_ID.match(bill["id"]), bill["id"]
    (line,) = bill["line_items"]
    assert line["amount"] == bill["amount_due"]
    assert (line["job"], line["coverage_type"]) == (assignment["job"], ["workers-comp"])
    assert (line["period_start"], line["period_end"]) == (
        assignment["effective_date"],
        assignment["end_date"],
    )
    assert line["description"] == f"Insurance premium: {JOB_NAME} · Workers' compensation · {period}"
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert JOB_NAME in text and "Workers' compensation" in text and period in text

    finance = add_member(session_factory, org.id, Role.FINANCE)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    sign_in(page, api_url, finance)
    page.goto(f"{api_url}/dashboard/billing/bills/{bill['id']}")
    lines = page.get_by_role("table").filter(has=page.get_by_role("columnheader", name="Coverage"))
    row = lines.get_by_role("row").nth(1)
    expect(row.get_by_role("cell").nth(0)).to_have_text("Insurance premium")
    expect(row.get_by_role("link", name=JOB_NAME)).to_have_attribute(
        "href", f"/dashboard/jobs/{assignment['job']}"
    )
    expect(row.get_by_role("cell").nth(2)).to_have_text("Workers' compensation")
    expect(row.get_by_role("cell").nth(3)).to_have_text(period)
    expect(row.get_by_role("cell").nth(4)).to_have_text(money(bill["amount_due"]))
    readme_screenshot(page, "bill")

    # the PO contact the bill went to is the organization's billing contact: the page says so, and where
    # to change it
    expect(page.get_by_text("Pat Payables · ap@platform.example")).to_be_visible()
    expect(
        page.get_by_text("This is your organization's billing contact: the job names no PO contact")
    ).to_be_visible()
    expect(page.get_by_role("link", name="Billing details")).to_have_attribute(
        "href", "/dashboard/billing#billing-details"
    )

    # the amount field is empty, with a visible hint (no grey placeholder that looks like a value)
    amount = page.get_by_label("Amount (USD)")
    expect(amount).to_have_value("")
    assert amount.get_attribute("placeholder") is None
    assert page.get_by_label("Reference").get_attribute("placeholder") is None
    expect(amount).to_have_accessible_description(
        re.compile(rf"Still due on this bill: \{money(bill['amount_due'])}")
    )

    # too much: the refusal says what to do and links to the form, in finance's words (not the API's)
    amount.fill(f"{(bill['amount_due'] + 100) / 100:.2f}")
    page.get_by_label("Reference").fill("wire 1")
    page.get_by_role("button", name="Record payment").click()
    refusal = page.get_by_text("That is more than is still due on this bill")
    expect(refusal).to_contain_text(f"Enter at most {money(bill['amount_due'])}")
    expect(refusal.get_by_role("link", name="Record a payment")).to_be_visible()
    expect(page.get_by_text("cents still due")).to_have_count(0)
    page.close()


def test_the_jobs_own_po_contact_is_said_to_be_the_jobs(
    api_url: str, org: Org, session_factory: sessionmaker[Session]
) -> None:
    with api(api_url, org) as http:
        _contractor, _job, _assignment, bill = billed_assignment(http, session_factory, org)
    with session_factory() as session:
        assert session.scalar(select(Bill.po_contact_from).where(Bill.id == bill["id"])) == "job"
    viewer = add_member(session_factory, org.id, Role.VIEWER)
    with signed_in(api_url, viewer) as client:
        shown = html.unescape(client.get(f"/dashboard/billing/bills/{bill['id']}").text)
    assert "The job's PO contact (not your organization's billing contact, Pat Payables)" in shown
    assert "This is your organization" not in shown


def test_every_new_bill_id_has_one_shape_and_a_workflows_is_the_same_each_time() -> None:
    assert BILL_ID.match(new_id("bill"))
    key = "an_4fG8xY2kLmN0pQrSr0"
    assert derived_bill_id(key) == derived_bill_id(key)  # a step run again finds the bill it issued
    assert BILL_ID.match(derived_bill_id(key))
    assert derived_bill_id(key) != derived_bill_id("an_4fG8xY2kLmN0pQrSr1")


def test_the_overdue_email_tells_finance_what_to_do_and_links_to_the_bill(
    api_url: str,
    org: Org,
    session_factory: sessionmaker[Session],
    smtp_sink: SmtpSink,
    settings: Settings,
    temporal_address: str,
) -> None:
    with api(api_url, org) as http:
        _assignment, bill = _bill_without_po_contact(http, session_factory, org)
    with session_factory() as session:  # a month and a day later
        stored = session.scalar(select(Bill).where(Bill.id == bill["id"]))
        assert stored is not None
        stored.due_date = stored.bill_date - 86_400
        session.commit()
    with ThreadPoolExecutor(1) as thread:  # Playwright's loop runs in this thread (the browser tests)
        swept = thread.submit(_lifecycle_sweep, temporal_address, settings).result(timeout=60)
    assert swept["overdue_bills"] >= 1
    message_id = f"<em_overdue_{bill['id'].removeprefix('bl_')}@gigcover>"
    (mail,) = eventually(lambda: [m for m in smtp_sink.messages if m["Message-ID"] == message_id], timeout=30)
    assert mail["To"] == "ap@platform.example"  # type: ignore[index]
    text = mail.get_body(("plain",)).get_content()  # type: ignore[attr-defined]
    body = mail.get_body(("html",)).get_content()  # type: ignore[attr-defined]
    bill_page = f"{settings.public_base_url}/dashboard/billing/bills/{bill['id']}"
    assert "POST" not in text and "/pay" not in text and "POST" not in body
    assert f"For:         Insurance premium: {JOB_NAME} · Workers' compensation" in text
    assert "record the payment (the amount and the check or wire reference)" in text
    assert bill_page in text and f'href="{bill_page}"' in body
    with httpx.Client(base_url=api_url) as browser_less:  # the link is the dashboard's bill page
        assert browser_less.get(bill_page.removeprefix(settings.public_base_url)).status_code in (200, 303)


def test_staff_choose_a_jobs_po_contact_and_its_next_bill_goes_to_them(
    api_url: str, org: Org, session_factory: sessionmaker[Session], browser: Browser
) -> None:
    with api(api_url, org) as http:
        first, bill = _bill_without_po_contact(http, session_factory, org)
    operator = add_member(session_factory, org.id, Role.OPERATOR)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    sign_in(page, api_url, operator)
    page.goto(f"{api_url}/dashboard/billing/bills/{bill['id']}")
    page.get_by_role("link", name="the job", exact=True).click()
    form = page.locator(f"form[action='/dashboard/jobs/{first['job']}']")
    expect(form.get_by_label("PO number")).to_have_value("PO-5150")
    expect(form.get_by_label("PO contact email")).to_have_accessible_description(
        re.compile("Left empty, bills go to your organization's billing contact")
    )
    form.get_by_label("PO contact", exact=True).fill("Lee Agency")
    form.get_by_label("PO contact email").fill("lee@agency.example")
    form.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    page.close()

    with api(api_url, org) as http:
        job = http.get(f"/jobs/{first['job']}").json()
        assert job["custom_metadata"] == {
            "purchase_order_number": "PO-5150",
            "po_contact_name": "Lee Agency",
            "po_contact_email": "lee@agency.example",
        }
        contractor = http.post(
            "/contractors", json=contractor_fields(unique_email("bills"), withhold_premium=True)
        ).json()["id"]
        _opt_in(session_factory, org, contractor, "CA")
        made = http.post(
            "/assignments",
            json={"contractor": contractor, "job": job["id"], "coverage_type": ["workers-comp"]},
        )
        active(http, made.json()["id"])
        (second,) = eventually(lambda: bills_of(http, contractor), timeout=30)
    assert (second["po_contact_name"], second["po_contact_email"]) == ("Lee Agency", "lee@agency.example")


def test_a_bill_issued_before_lines_said_what_for_still_shows_it(
    api_url: str, org: Org, session_factory: sessionmaker[Session]
) -> None:
    """A bill from before (its one line "Insurance premium, policy pl_…", its id bl_<assignment>r0) keeps its
    id and shows the job, coverage and period of the assignment it is for."""
    with api(api_url, org) as http:
        assignment, bill = _bill_without_po_contact(http, session_factory, org)
    old_id = f"bl_{assignment['id'].removeprefix('an_')}r0"
    with session_factory() as session:
        stored = session.scalar(select(Bill).where(Bill.id == bill["id"]))
        assert stored is not None
        stored.id, stored.po_contact_from = old_id, None
        stored.line_items = [{"description": "Insurance premium, policy pl_x", "amount": bill["amount_due"]}]
        session.commit()
    viewer = add_member(session_factory, org.id, Role.VIEWER)
    with signed_in(api_url, viewer) as client:
        shown = html.unescape(client.get(f"/dashboard/billing/bills/{old_id}").text)
    period = f"{_day(assignment['effective_date'])} to {_day(assignment['end_date'])}"
    assert f">{JOB_NAME}</a></td>" in shown and "<td>Workers' compensation</td>" in shown
    assert f"<td>{period}</td>" in shown and "<td>Insurance premium</td>" in shown
    with api(api_url, org) as http:
        assert (
            http.get(f"/bills/{old_id}")
            .json()["line_items"][0]["description"]
            .startswith("Insurance premium, ")
        )
