"""Billing in the dashboard, through a real server, the real worker and Chromium: bills by status with
totals, a bill with its PDF, PO number and contact, recording its payment (as POST /bills/{id}/pay), the
CSV export, the billing details; roles, CSRF, another organization's bills, and the API's answers."""

import csv
import io

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from db.models import AuditEntry, Bill, Organization
from domain.roles import Role
from notifications.render import money
from tests.accessibility import assert_accessible
from tests.dashboard_engagements import PO, api, billed_assignment, bills_of
from tests.dashboard_support import add_member, post_form, readme_screenshot, sign_in, signed_in
from tests.support import Org, make_org

pytestmark = pytest.mark.usefixtures("worker")


def _dollars(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def test_finance_sees_the_bill_downloads_its_pdf_and_records_its_payment(
    api_url: str, org: Org, session_factory: sessionmaker[Session], browser: Browser
) -> None:
    with api(api_url, org) as http:
        _contractor, _job, assignment, bill = billed_assignment(http, session_factory, org)
    finance = add_member(session_factory, org.id, Role.FINANCE)
    page = browser.new_page(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    sign_in(page, api_url, finance)
    page.get_by_role("link", name="Billing").click()
    expect(page.get_by_role("heading", name="Billing", exact=True)).to_be_visible()
    open_total = page.get_by_role("listitem").filter(has_text="open")
    expect(open_total).to_contain_text("1 bill")
    expect(open_total).to_contain_text(f"${_dollars(bill['amount_due'])}")
    statuses = page.get_by_role("list", name="Totals by status").locator(".status")
    expect(statuses).to_have_text(["Open", "Overdue", "Paid", "Cancelled"])  # staff words, not the API's
    filter_status = page.get_by_role("search", name="Filter bills").get_by_label("Status").locator("option")
    expect(filter_status).to_have_text(["Any", "Open", "Overdue", "Paid", "Cancelled"])
    expect(page.get_by_role("row").filter(has_text=bill["id"]).locator(".status")).to_have_text("Open")
    readme_screenshot(page, "billing")
    assert_accessible(page)

    page.get_by_role("link", name=bill["id"]).click()
    expect(page.locator("#bill-status")).to_have_text("Open")
    assert_accessible(page)
    expect(page.get_by_text(PO["purchase_order_number"])).to_be_visible()
    expect(page.get_by_text(f"{PO['po_contact_name']} · {PO['po_contact_email']}")).to_be_visible()
    expect(page.get_by_role("link", name=assignment["id"])).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the bill (PDF)").click()
    saved = download.value.path()
    assert saved is not None and saved.read_bytes().startswith(b"%PDF")

    page.get_by_label("Amount (USD)").fill(_dollars(bill["amount_due"]))
    page.get_by_label("Reference").fill("wire 2024-0117")
    page.get_by_role("button", name="Record payment").click()
    expect(page.get_by_role("status")).to_have_text("Recorded.")
    expect(page.locator("#bill-status")).to_have_text("Paid")
    expect(page.get_by_role("button", name="Record payment")).to_have_count(0)
    assert_accessible(page)
    page.close()

    with api(api_url, org) as http:  # the API's bill is the one the dashboard paid
        paid = http.get(f"/bills/{bill['id']}").json()
        assert [b["id"] for b in http.get("/bills", params={"status": "paid"}).json()] == [bill["id"]]
    assert (paid["status"], paid["amount_paid"], paid["amount_remaining"]) == ("paid", bill["amount_due"], 0)
    assert paid["payment_reference"] == "wire 2024-0117" and paid["paid_at"]
    with session_factory() as session:
        entry = session.scalar(
            select(AuditEntry).where(
                AuditEntry.organization_id == org.id, AuditEntry.action == "bill.payment_recorded"
            )
        )
    assert entry is not None and entry.target == bill["id"] and entry.actor == finance


def test_a_payment_is_refused_by_the_dashboard_as_by_the_api(
    api_url: str, org: Org, session_factory: sessionmaker[Session]
) -> None:
    with api(api_url, org) as http:
        _contractor, _job, _assignment, bill = billed_assignment(http, session_factory, org)
        too_much = bill["amount_due"] + 1
        from_api = http.post(f"/bills/{bill['id']}/pay", json={"amount": too_much, "reference": "wire 1"})
        finance = add_member(session_factory, org.id, Role.FINANCE)
        path = f"/dashboard/billing/bills/{bill['id']}"
        with signed_in(api_url, finance) as client:
            refused = post_form(
                client, path, f"{path}/pay", {"amount": _dollars(too_much), "reference": "wire 1"}
            )
            assert (refused.status_code, from_api.status_code) == (400, 400)
            still_due = money(bill["amount_due"])
            assert f"That is more than is still due on this bill ({still_due}). Enter at most" in refused.text
            assert 'href="#h-pay"' in refused.text  # to the form it names
            assert from_api.json()["message"] not in refused.text and "cents" not in refused.text
            part = post_form(client, path, f"{path}/pay", {"amount": "1.00", "reference": "check 1001"})
            assert part.status_code == 303
        after = http.get(f"/bills/{bill['id']}").json()
        assert (after["status"], after["amount_paid"]) == ("open", 100)
        rest = http.post(
            f"/bills/{bill['id']}/pay", json={"amount": bill["amount_due"] - 100, "reference": "w2"}
        )
        assert rest.json()["status"] == "paid"
        with signed_in(api_url, finance) as client:
            again = post_form(client, path, f"{path}/pay", {"amount": "1.00", "reference": "again"})
        from_api = http.post(f"/bills/{bill['id']}/pay", json={"amount": 100, "reference": "again"})
        assert (again.status_code, from_api.status_code) == (409, 409)
        assert "This bill is already paid: nothing more is due on it" in again.text
        assert 'href="/dashboard/billing?status=paid"' in again.text
        assert from_api.json()["message"] not in again.text  # the API keeps its own words


def test_the_csv_export_holds_the_bills_the_page_shows(
    api_url: str, org: Org, session_factory: sessionmaker[Session]
) -> None:
    with api(api_url, org) as http:
        contractor, _job, _assignment, first = billed_assignment(http, session_factory, org)
        _c, _j, _a, second = billed_assignment(http, session_factory, org)
        http.post(f"/bills/{second['id']}/pay", json={"amount": second["amount_due"], "reference": "wire 9"})
        from_api = {b["id"]: b for b in http.get("/bills", params={"limit": 100}).json()}
    viewer = add_member(session_factory, org.id, Role.VIEWER)  # reading and exporting need no more
    with signed_in(api_url, viewer) as client:
        listed = client.get("/dashboard/billing", params={"status": "open"}).text
        assert first["id"] in listed and second["id"] not in listed
        export = client.get("/dashboard/billing/bills.csv", params={"status": "open"})
        everything = client.get("/dashboard/billing/bills.csv")
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    assert export.headers["content-disposition"] == 'attachment; filename="bills-sandbox-open.csv"'
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert [r["id"] for r in rows] == [first["id"]]
    row, bill = rows[0], from_api[first["id"]]
    assert (row["status"], row["contractor"], row["purchase_order_number"]) == ("open", contractor, "PO-4410")
    assert (row["amount_due"], row["amount_remaining"]) == (
        _dollars(bill["amount_due"]),
        _dollars(bill["amount_due"]),
    )
    assert (row["po_contact_email"], row["pdf_url"]) == (bill["po_contact_email"], bill["pdf_url"])
    all_rows = list(csv.DictReader(io.StringIO(everything.text)))
    assert {r["id"]: r["status"] for r in all_rows} == {b: v["status"] for b, v in from_api.items()}


def test_finance_edits_the_billing_details_and_the_api_shows_them(
    api_url: str, org: Org, session_factory: sessionmaker[Session]
) -> None:
    finance = add_member(session_factory, org.id, Role.FINANCE)
    details = {
        "billing_contact_name": "Ana Finance",
        "billing_contact_email": "ana@platform.example",
        "line1": "1 Infinite Loop",
        "locality": "Cupertino",
        "region": "California",
        "postalcode": "95014",
    }
    with signed_in(api_url, finance) as client:
        wrong = post_form(
            client,
            "/dashboard/billing",
            "/dashboard/billing/details",
            {**details, "billing_contact_email": "x"},
        )
        assert wrong.status_code == 400 and "The email &#39;x&#39; is not an email address" in wrong.text
        assert "Correct it in the form" in wrong.text and "billing_contact_email:" not in wrong.text
        saved = post_form(client, "/dashboard/billing", "/dashboard/billing/details", details)
        assert saved.status_code == 303 and saved.headers["location"] == "/dashboard/billing?notice=saved"
        shown = client.get("/dashboard/billing").text
    assert "1 Infinite Loop, Cupertino, CA 95014" in shown
    with api(api_url, org) as http:
        organization = http.get("/organization").json()
        from_api = http.put(
            "/organization", json={"billing_contact_email": "x"}, auth=(org.production_key, "")
        )
    assert (organization["billing_contact_name"], organization["billing_contact_email"]) == (
        "Ana Finance",
        "ana@platform.example",
    )
    assert organization["billing_address"]["region"] == "CA"  # the API's rules: "California" is CA
    assert from_api.status_code == 400 and "billing_contact_email" in from_api.json()["message"]


@pytest.mark.parametrize("role", [Role.VIEWER, Role.OPERATOR])
def test_a_viewer_or_operator_sees_no_billing_forms_and_cannot_pay(
    api_url: str, org: Org, session_factory: sessionmaker[Session], role: Role
) -> None:
    with api(api_url, org) as http:
        _contractor, _job, _assignment, bill = billed_assignment(http, session_factory, org)
    member = add_member(session_factory, org.id, role)
    path = f"/dashboard/billing/bills/{bill['id']}"
    with signed_in(api_url, member) as client:
        page = client.get(path).text
        assert "Record payment" not in page and f"{path}/pay" not in page
        assert "/dashboard/billing/details" not in client.get("/dashboard/billing").text
        paid = post_form(
            client, path, f"{path}/pay", {"amount": _dollars(bill["amount_due"]), "reference": "x"}
        )
        details = post_form(client, path, "/dashboard/billing/details", {"billing_contact_name": "Mallory"})
        assert (paid.status_code, details.status_code) == (403, 403)
    with session_factory() as session:
        assert session.scalar(select(Bill.status).where(Bill.id == bill["id"])) == "open"
        assert session.get(Organization, org.id).billing_contact_name == "Pat Payables"


def test_a_payment_posted_without_its_csrf_token_changes_nothing(
    api_url: str, org: Org, session_factory: sessionmaker[Session]
) -> None:
    with api(api_url, org) as http:
        _contractor, _job, _assignment, bill = billed_assignment(http, session_factory, org)
    finance = add_member(session_factory, org.id, Role.FINANCE)
    with signed_in(api_url, finance) as client:
        forged = client.post(
            f"/dashboard/billing/bills/{bill['id']}/pay", data={"amount": "1.00", "reference": "forged"}
        )
    assert forged.status_code == 403 and "Nothing was changed" in forged.text
    with session_factory() as session:
        assert session.scalar(select(Bill.amount_paid).where(Bill.id == bill["id"])) == 0


def test_another_organizations_bill_is_not_found(
    api_url: str, org: Org, session_factory: sessionmaker[Session]
) -> None:
    other = make_org(session_factory, "Other Platform")
    with api(api_url, other) as http:
        contractor, _job, _assignment, bill = billed_assignment(http, session_factory, other)
    finance = add_member(session_factory, org.id, Role.FINANCE)
    path = f"/dashboard/billing/bills/{bill['id']}"
    with signed_in(api_url, finance) as client:
        assert client.get(path).status_code == 404
        paid = post_form(client, "/dashboard/billing", f"{path}/pay", {"amount": "1.00", "reference": "x"})
        assert paid.status_code == 404
        assert bill["id"] not in client.get("/dashboard/billing/bills.csv").text
        assert bill["id"] not in client.get("/dashboard/billing", params={"contractor": contractor}).text
    with api(api_url, org) as http:
        assert http.get(f"/bills/{bill['id']}").status_code == 404  # as the API answers
    with api(api_url, other) as http:
        assert bills_of(http, contractor)[0]["amount_paid"] == 0


def test_a_payment_and_its_audit_entry_are_committed_together(
    api_url: str, org: Org, session_factory: sessionmaker[Session]
) -> None:
    """The server (a thread of this process) commits the bill's payment and the entry recording who made it
    in one transaction: no moment where the payment is kept and its entry not (services/audit.py)."""
    with api(api_url, org) as http:
        _contractor, _job, _assignment, bill = billed_assignment(http, session_factory, org)
    finance = add_member(session_factory, org.id, Role.FINANCE)
    path = f"/dashboard/billing/bills/{bill['id']}"
    written: dict[int, set[str]] = {}
    commits: list[set[str]] = []

    def flushed(session: Session, _context: object) -> None:
        for row in (*session.new, *session.dirty):
            if isinstance(row, Bill) and row.id == bill["id"]:
                written.setdefault(id(session), set()).add("payment")
            elif isinstance(row, AuditEntry) and row.target == bill["id"]:
                written.setdefault(id(session), set()).add("audit entry")

    def committed(session: Session) -> None:
        if id(session) in written:
            commits.append(written.pop(id(session)))

    event.listen(Session, "after_flush", flushed)
    event.listen(Session, "after_commit", committed)
    try:
        with signed_in(api_url, finance) as client:
            paid = post_form(client, path, f"{path}/pay", {"amount": "1.00", "reference": "check 1002"})
    finally:
        event.remove(Session, "after_flush", flushed)
        event.remove(Session, "after_commit", committed)
    assert paid.status_code == 303
    assert commits == [{"payment", "audit entry"}]
