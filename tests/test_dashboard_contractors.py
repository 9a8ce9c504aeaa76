"""The dashboard's contractors: the list and search, a contractor's record (policies, applications with
their link — copy, resend, expire —, assignments, invoices, money, emails), and uploading contractors from a
CSV file (preview, import as a workflow with its progress, nothing created twice), through a real server, the
real worker and Chromium. Each operation is checked against the API's answer for the same thing."""

import asyncio
import csv
import html
import io
import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import ten99policy
from playwright.sync_api import Browser, expect
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from common.settings import Settings
from common.validation import validated
from contracts.contractor_import import contractor_import_workflow_id
from db.models import AuditEntry, Contractor, Document, EmailMessage, Organization
from documents.issuing import document_store
from domain.roles import Role
from domain.statuses import EmailStatus
from notifications.render import money
from outbox.senders import settle
from services import contractor_import
from services.audit import Actor
from services.contractors import ContractorIn, add_contractor
from services.tenancy import Tenant
from tests.accessibility import assert_accessible
from tests.dashboard_support import (
    add_member,
    form_token,
    post_form,
    readme_screenshot,
    sign_in,
    signed_in,
)
from tests.histories import keep_history
from tests.support import (
    Org,
    SmtpSink,
    contractor_fields,
    entity_fields,
    eventually,
    job_fields,
    make_org,
    refunded_to,
    unique_email,
)
from tests.test_engagements import _apply, _assignment_of, _contractor_and_job

pytestmark = pytest.mark.usefixtures("worker")
SUCCESS, CANCEL = "https://platform.example/insured", "https://platform.example/cancelled"
HEADER = [
    "first_name",
    "last_name",
    "email",
    "phone",
    "address.line1",
    "address.locality",
    "address.region",
    "address.postalcode",
    "company_name",
    "withhold_premium",
    "custom_metadata.external_id",
]
# Rows 12, 25 and 38 of the file (the header is row 1) are bad, each for another reason.
BAD = {
    12: {"email": "not-an-email"},
    25: {"last_name": ""},
    38: {"address.region": "ZZ"},
}


FIRST = ["Ada", "Grace", "Alan", "Katherine", "Edsger", "Barbara", "Donald", "Frances", "Dennis", "Radia"]
LAST = [
    "Lovelace",
    "Hopper",
    "Turing",
    "Johnson",
    "Dijkstra",
    "Liskov",
    "Knuth",
    "Allen",
    "Ritchie",
    "Perlman",
]


def contractors_csv(count: int = 50, bad: dict[int, dict[str, str]] | None = None) -> bytes:
    """``count`` contractors (each organization is new, so their emails are too); ``bad`` overrides cells of
    some rows (by row number: the header is row 1)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    for index in range(count):
        number = index + 2
        first, last = FIRST[index % len(FIRST)], LAST[(index // len(FIRST) + index) % len(LAST)]
        row = {
            "first_name": first,
            "last_name": last,
            "email": f"{first}.{last}.{index}@example.com".lower(),
            "phone": f"555-010-{index:04d}",
            "address.line1": f"{index + 1} Main St",
            "address.locality": "San Francisco",
            "address.region": "CA",
            "address.postalcode": "94102",
            "company_name": f"{last} Studio LLC" if index % 3 == 0 else "",
            "withhold_premium": "",
            "custom_metadata.external_id": f"ext-{index}",
        }
        row.update((bad or {}).get(number, {}))
        writer.writerow([row[c] for c in HEADER])
    return out.getvalue().encode()


def cells_of(data: bytes, number: int) -> dict[str, str]:
    rows = list(csv.reader(io.StringIO(data.decode())))
    return dict(zip(rows[0], rows[number - 1], strict=True))


def api(org: Org, api_url: str) -> httpx.Client:
    return httpx.Client(base_url=f"{api_url}/api/v1", auth=(org.sandbox_key, ""), timeout=30)


def count_contractors(factory: sessionmaker[Session], org: Org) -> int:
    with factory() as session:
        return (
            session.scalar(
                select(func.count()).select_from(Contractor).where(Contractor.organization_id == org.id)
            )
            or 0
        )


def refused_rows(page_html: str) -> dict[int, str]:
    """The preview's rows with errors: row number -> the reason shown."""
    found = re.findall(
        r'<tr class="refused" id="row-(\d+)">.*?<td class="reason">(.*?)</td></tr>', page_html, re.S
    )
    return {int(n): html.unescape(reason) for n, reason in found}


def upload(client: httpx.Client, data: bytes, name: str = "contractors.csv") -> httpx.Response:
    token = form_token(client, "/dashboard/contractors/upload")
    return client.post(
        "/dashboard/contractors/upload", data={"csrf_token": token}, files={"file": (name, data, "text/csv")}
    )


async def _keep_import_history(temporal_address: str, upload_id: str, scenario: str) -> None:
    """Record the import workflow's history (GIGCOVER_RECORD_HISTORIES=1), for tests/test_replay.py."""
    temporal = await Client.connect(temporal_address, data_converter=pydantic_data_converter)
    await keep_history(temporal.get_workflow_handle(contractor_import_workflow_id(upload_id)), scenario)


def import_upload(client: httpx.Client, upload_path: str) -> dict[str, Any]:
    """Start the import of an upload and wait for its report (the page's JSON)."""
    started = post_form(client, upload_path, f"{upload_path}/import", {})
    assert started.status_code == 303 and started.headers["location"] == f"{upload_path}/import"

    def finished() -> dict[str, Any] | None:
        progress = client.get(f"{upload_path}/import/progress").json()
        return progress if progress["status"] != "running" else None

    return eventually(finished, timeout=120)


# Uploading ------------------------------------------------------------------------------------------------


def short_email(name: str) -> str:
    """A member's email that reads well in a screenshot (members' emails are unique across organizations)."""
    return f"{name}.{time.time_ns() % 100_000}@platform.example"


def test_an_operator_uploads_50_contractors_with_3_bad_rows_and_a_second_upload_creates_nothing(
    api_url: str, org: Org, session_factory: sessionmaker[Session], browser: Browser, tmp_path: Path
) -> None:
    operator = add_member(session_factory, org.id, Role.OPERATOR, short_email("ops"))
    data = contractors_csv(50, bad=BAD)
    path = tmp_path / "contractors.csv"
    path.write_bytes(data)
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    sign_in(page, api_url, operator)
    page.goto(f"{api_url}/dashboard/contractors")
    page.get_by_role("link", name="Upload contractors").click()
    expect(page.get_by_role("heading", name="Upload contractors")).to_be_visible()
    assert_accessible(page)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the template").click()
    header = Path(download.value.path()).read_text().splitlines()[0]
    assert header.split(",")[:4] == ["first_name", "last_name", "email", "phone"]

    page.get_by_label("CSV file").set_input_files(str(path))
    page.get_by_role("button", name="Upload and preview").click()
    expect(page.get_by_role("heading", name=re.compile("Preview"))).to_be_visible()
    expect(page.locator("#count-new")).to_have_text("47")
    expect(page.locator("#count-refused")).to_have_text("3")
    refused = page.locator("tr.refused")
    expect(refused).to_have_count(3)
    expect(page.locator("#row-12 .reason")).to_have_text("The email 'not-an-email' is not an email address")
    expect(page.locator("#row-25 .reason")).to_have_text("The last name is missing")
    expect(page.locator("#row-38 .reason")).to_have_text(
        "The state 'ZZ' is not a US state (use the two-letter code, e.g. CA)"
    )
    readme_screenshot(page, "upload-preview")
    assert_accessible(page)
    assert count_contractors(session_factory, org) == 0  # a preview creates nobody

    page.get_by_role("button", name="Import 47 contractors").click()
    expect(page.get_by_role("heading", name=re.compile("Import"))).to_be_visible()
    expect(page.get_by_role("status")).to_have_text("Done.", timeout=60_000)
    expect(page.locator("#count-created")).to_have_text("47")
    expect(page.locator("#count-refused")).to_have_text("3")
    expect(page.locator("tr.refused")).to_have_count(3)
    expect(page.locator("tr.refused").filter(has_text="ZZ")).to_contain_text(  # the report says it alike
        "The state 'ZZ' is not a US state (use the two-letter code, e.g. CA)"
    )
    assert_accessible(page)
    assert count_contractors(session_factory, org) == 47

    page.goto(f"{api_url}/dashboard/contractors")
    expect(page.get_by_role("link", name="Ada Lovelace")).to_be_visible()
    readme_screenshot(page, "contractors")
    assert_accessible(page)

    page.goto(f"{api_url}/dashboard/contractors/upload")  # the same file again
    page.get_by_label("CSV file").set_input_files(str(path))
    page.get_by_role("button", name="Upload and preview").click()
    expect(page.locator("#count-new")).to_have_text("0")
    expect(page.locator("#count-existing")).to_have_text("47")
    expect(page.locator("#count-refused")).to_have_text("3")
    expect(page.get_by_text("Nothing to import")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("^Import"))).to_have_count(0)
    assert_accessible(page)
    second = page.url.removeprefix(api_url)
    page.close()
    with signed_in(api_url, operator) as client:  # importing it anyway creates nothing
        report = import_upload(client, second)
    assert (report["created"], report["existing"], report["refused_count"]) == (0, 47, 3)
    assert count_contractors(session_factory, org) == 47
    with session_factory() as session:
        actions = list(session.scalars(select(AuditEntry.action).where(AuditEntry.organization_id == org.id)))
    assert actions.count("contractor_import.uploaded") == 2
    assert actions.count("contractor_import.finished") == 2


def test_a_bad_row_is_refused_as_the_api_refuses_it_and_said_in_plain_words(
    api_url: str, org: Org, session_factory: sessionmaker[Session]
) -> None:
    """The rows the API would refuse are the ones refused, each said for the person who fixes the file:
    the field by its label and how to fix it, no field path or validator text; the API keeps its own."""
    operator = add_member(session_factory, org.id, Role.OPERATOR)
    taken = unique_email("taken")
    data = contractors_csv(40, bad={**BAD, 5: {"phone": "12"}, 7: {"email": taken}})
    with api(org, api_url) as http:
        assert http.post("/contractors", json=contractor_fields(taken)).status_code == 201
    with signed_in(api_url, operator) as client:
        response = upload(client, data)
        assert response.status_code == 303, response.text
        preview = client.get(response.headers["location"])
    reasons = refused_rows(preview.text)
    assert sorted(reasons) == [5, 12, 25, 38]
    existing = [(int(n), html.unescape(m)) for n, m in re.findall(r"<li>Row (\d+): (.*?)</li>", preview.text)]
    assert existing == [(7, f"A contractor with email '{taken}' already exists")]
    assert reasons == {
        5: "The phone number is too short",
        12: "The email 'not-an-email' is not an email address",
        25: "The last name is missing",
        38: "The state 'ZZ' is not a US state (use the two-letter code, e.g. CA)",
    }
    with api(org, api_url) as http:
        for number, reason in reasons.items():
            body = contractor_import.body_of(contractor_import.CsvRow(number, cells_of(data, number)))
            answer = http.post("/contractors", json=body)
            assert answer.status_code == 400
            assert answer.json()["message"] != reason and "Value error" not in reason
        body = contractor_import.body_of(contractor_import.CsvRow(38, cells_of(data, 38)))
        assert (
            http.post("/contractors", json=body)
            .json()["message"]
            .startswith("address.region: Value error, 'ZZ' is not a US state")
        )  # the API's message is as it was
        body = contractor_import.body_of(contractor_import.CsvRow(7, cells_of(data, 7)))
        assert http.post("/contractors", json=body).json()["message"] == existing[0][1]


def test_an_imported_contractor_is_what_the_api_shows_and_its_page_shows(
    api_url: str, org: Org, session_factory: sessionmaker[Session], temporal_address: str
) -> None:
    operator = add_member(session_factory, org.id, Role.OPERATOR)
    data = contractors_csv(3)
    with signed_in(api_url, operator) as client:
        response = upload(client, data)
        report = import_upload(client, response.headers["location"])
        assert (report["created"], report["existing"], report["refused_count"]) == (3, 0, 0)
        upload_id = response.headers["location"].rsplit("/", 1)[1]
        # in a thread of its own: Playwright's sync API keeps an event loop running in this one
        with ThreadPoolExecutor(1) as thread:
            recording = _keep_import_history(temporal_address, upload_id, "contractor_import_created")
            thread.submit(asyncio.run, recording).result()
        email = cells_of(data, 2)["email"]
        with api(org, api_url) as http:
            found = http.get("/contractors", params={"email": email}).json()
            assert len(found) == 1
            through_api = found[0]
        assert through_api["custom_metadata"] == {"external_id": "ext-0"}
        assert (
            through_api["address"]["region"] == "CA" and through_api["company_name"] == "Lovelace Studio LLC"
        )
        shown = client.get(f"/dashboard/contractors/{through_api['id']}").text
    facts = {
        k: html.unescape(v) for k, v in re.findall(r'<dd[^>]*data-field="(\w+)">(.*?)</dd>', shown, re.S)
    }
    assert facts["id"] == through_api["id"]
    assert facts["email"] == through_api["email"]
    assert facts["phone"] == through_api["phone"]
    assert facts["company_name"] == through_api["company_name"]
    address = through_api["address"]
    assert facts["address"] == (
        f"{address['line1']}, {address['locality']}, {address['region']} {address['postalcode']}"
    )
    assert "external_id" in facts["custom_metadata"] and "ext-0" in facts["custom_metadata"]


def test_thousands_of_rows_import_in_the_background_with_progress(
    api_url: str, org: Org, session_factory: sessionmaker[Session]
) -> None:
    operator = add_member(session_factory, org.id, Role.OPERATOR)
    data = contractors_csv(3000)
    with signed_in(api_url, operator) as client:
        response = upload(client, data)
        assert response.status_code == 303
        upload_path = response.headers["location"]
        preview = client.get(upload_path)
        assert '<strong id="count-new">3000</strong>' in preview.text
        began = time.monotonic()
        started = post_form(client, upload_path, f"{upload_path}/import", {})
        assert started.status_code == 303 and time.monotonic() - began < 5  # answered at once
        seen: set[int] = set()

        def finished() -> dict[str, Any] | None:
            progress = client.get(f"{upload_path}/import/progress").json()
            seen.add(progress["processed"])
            return progress if progress["status"] != "running" else None

        report = eventually(finished, timeout=300)
        page = client.get(f"{upload_path}/import")
    assert (report["created"], report["processed"], report["rows"]) == (3000, 3000, 3000)
    assert len(seen) > 2  # the counts moved while it ran
    assert "Done." in page.text
    assert count_contractors(session_factory, org) == 3000


def test_a_retried_batch_creates_nothing_twice_and_reports_the_same(
    org: Org, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    data = contractors_csv(5, bad={3: {"email": "nope"}})
    actor = Actor("test@example.com")
    store = document_store(settings)
    with session_factory() as session:
        tenant = Tenant(session.get(Organization, org.id), "sandbox")  # type: ignore[arg-type]
        document, _rows = contractor_import.store_upload(session, store, tenant, "x.csv", data, actor)
        first = contractor_import.import_batch(session, store, tenant, document.id, 0, actor)
        again = contractor_import.import_batch(session, store, tenant, document.id, 0, actor)
    assert (first.created, first.existing, [r.row for r in first.refused]) == (4, 0, [3])
    assert again == first
    assert count_contractors(session_factory, org) == 4


def test_a_file_that_cannot_be_read_is_refused_with_why(
    api_url: str, org: Org, session_factory: sessionmaker[Session]
) -> None:
    operator = add_member(session_factory, org.id, Role.OPERATOR)
    with signed_in(api_url, operator) as client:
        unknown = upload(client, b"first_name,last_name,email,favourite_colour\nA,B,a@example.com,red\n")
        assert unknown.status_code == 400
        assert "The column \u201cfavourite_colour\u201d is not one we know" in html.unescape(unknown.text)
        assert "unknown field" not in unknown.text  # the API's words for it
        latin = upload(client, "first_name,email\nJos\u00e9,j@example.com\n".encode("latin-1"))
        assert latin.status_code == 400 and "not UTF-8" in latin.text
        empty = upload(client, b"")
        assert empty.status_code == 400 and "The file is empty" in empty.text
    with session_factory() as session:
        assert session.scalar(select(Document).where(Document.organization_id == org.id)) is None


# A contractor's record ------------------------------------------------------------------------------------


def _application(http: httpx.Client) -> dict[str, Any]:
    """A contractor with a quote and an open application (its link not emailed)."""
    entity = http.post("/entities", json=entity_fields()).json()["id"]
    email = f"jane.doe.{time.time_ns() % 10**9}@example.com"
    contractor = http.post("/contractors", json=contractor_fields(email)).json()["id"]
    job = http.post("/jobs", json=job_fields(entity)).json()["id"]
    quote = http.post(
        "/quotes", json={"contractor": contractor, "job": job, "coverage_type": ["general", "workers-comp"]}
    ).json()
    session = http.post(
        "/apply/sessions", json={"quote": quote["id"], "success_url": SUCCESS, "cancel_url": CANCEL}
    )
    assert session.status_code == 201, session.text
    return dict(session.json())


def _mail_to(smtp_sink: SmtpSink, recipient: str) -> list[str]:
    return [
        m.get_body(preferencelist=("plain",)).get_content()  # type: ignore[attr-defined]
        for m in list(smtp_sink.messages)
        if m["To"] == recipient  # type: ignore[index]
    ]


def test_a_contractor_page_shows_the_application_link_and_resending_it_sends_an_email(
    api_url: str, org: Org, session_factory: sessionmaker[Session], smtp_sink: SmtpSink, browser: Browser
) -> None:
    operator = add_member(session_factory, org.id, Role.OPERATOR, short_email("ops"))
    with api(org, api_url) as http:
        application = _application(http)
        contractor = http.get(f"/contractors/{application['contractor']}").json()
    assert _mail_to(smtp_sink, contractor["email"]) == []
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    sign_in(page, api_url, operator)
    page.goto(f"{api_url}/dashboard/contractors/{contractor['id']}")
    link = page.get_by_label("Application link")
    expect(link).to_have_value(application["url"])  # the API's url for the same application
    page.get_by_role("button", name="Copy link").click()
    expect(page.get_by_text("Copied.")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == application["url"]
    readme_screenshot(page, "contractor")
    assert_accessible(page)
    page.get_by_role("button", name="Resend by email").click()
    expect(page.get_by_role("status")).to_have_text("Sent again.")
    mails = eventually(lambda: _mail_to(smtp_sink, contractor["email"]) or None, timeout=60)
    assert application["url"] in mails[0]
    expect(page.get_by_text("Emails sent to")).to_be_visible()
    page.reload()
    expect(page.locator("tr.email")).to_have_count(1)
    expect(page.locator("tr.email")).to_contain_text("Sent")
    with session_factory() as session:  # the contractor's mail server refuses the address, as recorded
        message = session.scalar(select(EmailMessage).where(EmailMessage.recipient == contractor["email"]))
        assert message is not None
        settle(message, EmailStatus.FAILED, "recipient refused: {'x': (550, b'5.1.1 Recipient rejected')}")
        session.commit()
    page.reload()
    row = page.locator("tr.email")
    expect(row).to_contain_text("Not delivered")
    expect(row).to_contain_text(
        "We could not deliver this email: the contractor's mail server refused the address. Check the "
        "contractor's email address."
    )
    expect(row).not_to_contain_text("recipient refused")
    expect(row).not_to_contain_text("550")
    assert_accessible(page)
    page.close()
    with session_factory() as session:
        entry = session.scalar(
            select(AuditEntry).where(
                AuditEntry.organization_id == org.id, AuditEntry.action == "application.link_sent"
            )
        )
        assert entry is not None and entry.target == application["id"] and entry.actor == operator


def test_a_contractors_record_shows_what_the_api_has_for_them(
    client: object, api_url: str, org: Org, session_factory: sessionmaker[Session], localstripe: str
) -> None:
    """A first job paid by card through its application, then a lower final pay refunded: the page shows
    the policy and its certificates, the assignment, the invoice, the charge and the refund, and the emails,
    as the API lists them."""
    contractor, job = _contractor_and_job(wage=500_000)
    quote = _apply(contractor, job, localstripe)
    assignment = _assignment_of(contractor)
    invoice = ten99policy.Invoices.create(
        contractor=contractor,
        job=job,
        gross_pay=120_000,
        paycycle_startdate=int(time.time()),
        paycycle_enddate=int(time.time()),
    )
    refund = quote["premium_due"] - invoice["premium_due"]
    eventually(lambda: refunded_to(localstripe, assignment["id"]) == refund, timeout=60)
    viewer = add_member(session_factory, org.id, Role.VIEWER)
    with api(org, api_url) as http, signed_in(api_url, viewer) as dashboard:
        policies = http.get(f"/contractors/{contractor}/policies").json()
        email = http.get(f"/contractors/{contractor}").json()["email"]

        def sent() -> list[dict[str, Any]]:
            return [e for e in http.get("/emails", params={"limit": 100}).json() if e["recipient"] == email]

        def settled() -> tuple[list[dict[str, Any]], str] | None:  # no email queued while the page was read
            before = sent()
            page = dashboard.get(f"/dashboard/contractors/{contractor}").text
            ids = [e["id"] for e in before]
            return (before, page) if before and [e["id"] for e in sent()] == ids else None

        emails, shown = eventually(settled)
    assert policies and all(p["id"] in shown for p in policies)
    links = [url for p in policies for url in [p["pdf_url"], *p["certificates"].values()] if url]
    assert links and all(f'href="{html.escape(url)}"' in shown for url in links)
    assert f'href="/dashboard/assignments/{assignment["id"]}"' in shown
    assert invoice["id"] in shown and money(invoice["premium_due"]) in shown
    money_rows = shown.split('id="h-money"', 1)[1].split('id="h-emails"', 1)[0]
    assert "card charge" in money_rows and money(quote["premium_due"]) in money_rows
    assert "card refund" in money_rows and money(-refund) in money_rows
    assert shown.count('<tr class="email">') == len(emails)
    assert all(html.escape(e["subject"], quote=False) in shown for e in emails)
    # Statuses in the staff's words, never the API's values
    policy_rows = shown.split('id="h-policies"', 1)[1].split('id="h-compliance"', 1)[0]
    assert ">In force</span>" in policy_rows and ">active</span>" not in policy_rows
    invoice_rows = shown.split('id="h-invoices"', 1)[1].split('id="h-money"', 1)[0]
    assert f">{invoice['status']}</span>" not in invoice_rows and ">Premium " in invoice_rows
    email_rows = shown.split('id="h-emails"', 1)[1]
    assert ">Sent</span>" in email_rows and ">sent</span>" not in email_rows


def test_expiring_an_application_in_the_dashboard_is_expiring_it_in_the_api(
    api_url: str, org: Org, session_factory: sessionmaker[Session]
) -> None:
    operator = add_member(session_factory, org.id, Role.OPERATOR)
    with api(org, api_url) as http:
        application = _application(http)
    page_path = f"/dashboard/contractors/{application['contractor']}"
    action = f"{page_path}/applications/{application['id']}/expire"
    with signed_in(api_url, operator) as client:
        deadline = time.monotonic() + 15
        while (response := post_form(client, page_path, action, {})).status_code == 503:
            assert time.monotonic() < deadline  # the workflow is starting
            time.sleep(0.2)
        assert response.status_code == 303, response.text
        with api(org, api_url) as http:
            assert http.get(f"/apply/sessions/{application['id']}").json()["status"] == "EXPIRED"
            through_api = http.post(f"/apply/sessions/{application['id']}/expire")
        again = post_form(client, page_path, action, {})
    assert again.status_code == through_api.status_code == 409
    assert "This application has already ended, so there is nothing to do to it" in again.text
    assert html.escape(through_api.json()["message"], quote=False) not in again.text
    with session_factory() as session:
        entry = session.scalar(
            select(AuditEntry).where(
                AuditEntry.organization_id == org.id, AuditEntry.action == "application.expired"
            )
        )
    assert entry is not None and entry.target == application["id"] and entry.actor == operator


def test_search_by_name_or_email_and_filter_by_status(
    api_url: str, org: Org, session_factory: sessionmaker[Session]
) -> None:
    viewer = add_member(session_factory, org.id, Role.VIEWER)
    with api(org, api_url) as http:
        application = _application(http)  # applying
        grace = http.post(
            "/contractors",
            json=contractor_fields(unique_email("grace"), first_name="Grace", last_name="Hopper"),
        ).json()
    with signed_in(api_url, viewer) as client:
        by_name = client.get("/dashboard/contractors", params={"q": "grace hop"}).text
        assert grace["id"] in by_name and application["contractor"] not in by_name
        by_email = client.get("/dashboard/contractors", params={"q": grace["email"].upper()}).text
        assert grace["id"] in by_email
        applying = client.get("/dashboard/contractors", params={"status": "applying"}).text
        assert application["contractor"] in applying and grace["id"] not in applying
        uncovered = client.get("/dashboard/contractors", params={"status": "uncovered"}).text
        assert grace["id"] in uncovered and application["contractor"] not in uncovered
        covered = client.get("/dashboard/contractors", params={"status": "covered"}).text
        assert grace["id"] not in covered
    with api(org, api_url) as http:  # the API's answer for the same email
        assert [c["id"] for c in http.get("/contractors", params={"email": grace["email"]}).json()] == [
            grace["id"]
        ]


def test_the_list_pages_50_at_a_time(api_url: str, org: Org, session_factory: sessionmaker[Session]) -> None:
    viewer = add_member(session_factory, org.id, Role.VIEWER)
    with session_factory() as session:
        tenant = Tenant(session.get(Organization, org.id), "sandbox")  # type: ignore[arg-type]
        for index in range(55):
            body = validated(ContractorIn, contractor_fields(unique_email(f"p{index}")))
            add_contractor(session, tenant, body)
        session.commit()
    with signed_in(api_url, viewer) as client:
        first = client.get("/dashboard/contractors").text
        assert first.count('href="/dashboard/contractors/cn_') == 50
        older = re.search(r'href="(/dashboard/contractors\?[^"]*starting_after=[^"]+)"', first)
        assert older
        second = client.get(html.unescape(older.group(1))).text
        assert second.count('href="/dashboard/contractors/cn_') == 5
        assert ">Older<" not in second  # the last page links to no empty one
        newer = re.search(r'href="(/dashboard/contractors\?[^"]*ending_before=[^"]+)">Newer<', second)
        assert newer
        back = client.get(html.unescape(newer.group(1))).text
        assert back.count('href="/dashboard/contractors/cn_') == 50 and ">Newer<" not in back


# Who may do what ------------------------------------------------------------------------------------------


def test_a_viewer_sees_no_buttons_and_cannot_upload_or_act(
    api_url: str, org: Org, session_factory: sessionmaker[Session], smtp_sink: SmtpSink
) -> None:
    viewer = add_member(session_factory, org.id, Role.VIEWER)
    with api(org, api_url) as http:
        application = _application(http)
        email = http.get(f"/contractors/{application['contractor']}").json()["email"]
    page_path = f"/dashboard/contractors/{application['contractor']}"
    with signed_in(api_url, viewer) as client:
        listing = client.get("/dashboard/contractors").text
        assert "Upload contractors" not in listing
        record = client.get(page_path).text
        assert application["url"] in record  # reading is allowed
        assert "Resend by email" not in record and ">Expire<" not in record
        assert client.get("/dashboard/contractors/upload").status_code == 403
        token = form_token(client, page_path)
        refused = client.post(
            "/dashboard/contractors/upload",
            data={"csrf_token": token},
            files={"file": ("c.csv", contractors_csv(2), "text/csv")},
        )
        assert refused.status_code == 403 and "Not allowed" in refused.text
        for verb in ("resend", "expire"):
            action = f"{page_path}/applications/{application['id']}/{verb}"
            assert client.post(action, data={"csrf_token": token}).status_code == 403
    time.sleep(1)
    assert _mail_to(smtp_sink, email) == []
    assert count_contractors(session_factory, org) == 1
    with session_factory() as session:
        assert session.scalar(select(Document).where(Document.organization_id == org.id)) is None


def test_another_organizations_contractor_application_and_upload_answer_404(
    api_url: str, org: Org, session_factory: sessionmaker[Session], smtp_sink: SmtpSink
) -> None:
    operator = add_member(session_factory, org.id, Role.OPERATOR)
    other = make_org(session_factory, "Other Platform")
    stranger = add_member(session_factory, other.id, Role.OPERATOR)
    with api(other, api_url) as http:
        theirs = _application(http)
        email = http.get(f"/contractors/{theirs['contractor']}").json()["email"]
    with signed_in(api_url, stranger) as client:
        their_upload = upload(client, contractors_csv(2)).headers["location"]
    with api(org, api_url) as http:
        mine = http.post("/contractors", json=contractor_fields(unique_email("mine"))).json()["id"]
    with signed_in(api_url, operator) as client:
        assert client.get(f"/dashboard/contractors/{theirs['contractor']}").status_code == 404
        assert client.get(their_upload).status_code == 404
        assert client.get(f"{their_upload}/import").status_code == 404
        token = form_token(client, "/dashboard/contractors")
        assert client.post(f"{their_upload}/import", data={"csrf_token": token}).status_code == 404
        theirs_under_mine = f"/dashboard/contractors/{mine}/applications/{theirs['id']}/resend"
        assert client.post(theirs_under_mine, data={"csrf_token": token}).status_code == 404
        with api(org, api_url) as http:
            own = _application(http)  # an application of this organization, under another contractor
        crossed = f"/dashboard/contractors/{mine}/applications/{own['id']}/resend"
        assert client.post(crossed, data={"csrf_token": token}).status_code == 404
        theirs_under_theirs = (
            f"/dashboard/contractors/{theirs['contractor']}/applications/{theirs['id']}/resend"
        )
        assert client.post(theirs_under_theirs, data={"csrf_token": token}).status_code == 404
        assert client.get(f"/dashboard/contractors/{mine}").status_code == 200  # their own is found
    time.sleep(1)
    assert _mail_to(smtp_sink, email) == []
    assert count_contractors(session_factory, other) == 1


def test_forms_posted_without_their_csrf_token_change_nothing(
    api_url: str, org: Org, session_factory: sessionmaker[Session], smtp_sink: SmtpSink
) -> None:
    operator = add_member(session_factory, org.id, Role.OPERATOR)
    with api(org, api_url) as http:
        application = _application(http)
        email = http.get(f"/contractors/{application['contractor']}").json()["email"]
    with signed_in(api_url, operator) as client:
        forged = client.post(
            "/dashboard/contractors/upload", files={"file": ("c.csv", contractors_csv(2), "text/csv")}
        )
        assert forged.status_code == 403 and "Nothing was changed" in forged.text
        good = upload(client, contractors_csv(2)).headers["location"]
        assert client.post(f"{good}/import").status_code == 403
        action = f"/dashboard/contractors/{application['contractor']}/applications/{application['id']}/resend"
        assert client.post(action, data={"csrf_token": "0" * 64}).status_code == 403
        time.sleep(1)
        assert "This file has not been imported" in client.get(f"{good}/import").text
    assert _mail_to(smtp_sink, email) == []
    assert count_contractors(session_factory, org) == 1
    with session_factory() as session:
        documents = session.scalars(select(Document).where(Document.organization_id == org.id)).all()
    assert len(documents) == 1  # only the upload that carried its token
