"""The certificate review queue and a reviewer's decisions, through a real server and Chromium: a flagged
certificate comes first in the queue; its page shows the PDF beside the fields read and each rule's result;
a reviewer approves the failed rule with a reason, then the certificate, or denies it; the contractor's
page says their compliance in words; the platform gets the certificate.* event. Attacks: another
organization's or environment's certificate, a role that may not decide, a forged form, hostile text."""

import html
import json
import os
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import pytest
from fpdf import FPDF
from playwright.sync_api import Browser, expect
from pydantic import TypeAdapter
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from common.ids import new_document_token
from common.settings import Settings
from db.models import AuditEntry, Certificate, Contractor, Document, Event, Organization
from documents.issuing import document_store
from domain.certificates import (
    CertificateStatus,
    CoverageKind,
    Insurer,
    LimitKind,
    ParsedCertificate,
    Party,
    PolicyEntry,
    Read,
    ReadMethod,
    RuleResult,
)
from domain.dates import DAY
from domain.roles import Role
from services.contractors import ContractorIn, add_contractor
from services.tenancy import Tenant
from tests import certificate_factory as factory
from tests.accessibility import assert_accessible
from tests.dashboard_support import (
    add_member,
    form_token,
    readme_screenshot,
    sign_in,
    signed_in,
    signed_in_client,
)
from tests.support import (
    Org,
    SmtpSink,
    WebhookReceiver,
    contractor_fields,
    eventually,
    make_org,
    unique_email,
)
from tests.test_certificate_uploads import (
    GOOD,
    add_requirement,
    failed_rules,
    new_contractor,
    retrieve,
    reviewed,
    upload,
)

REVIEW = TypeAdapter(list[RuleResult])
PARSED = TypeAdapter(ParsedCertificate)
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'
LOW_LIMIT = RuleResult(
    rule="general_liability.each_occurrence",
    description="General liability: each occurrence at least $1,000,000",
    passed=False,
    required="at least $1,000,000",
    found="$500,000",
    where="form field GENERAL LIABILITY EACH OCCURRENCE",
    reason="the limit is below the minimum",
)
NO_HOLDER = RuleResult(
    rule="certificate_holder",
    description="Certificate holder is Test Platform",
    passed=False,
    required="Test Platform",
    found="not found",
    reason="the certificate holder could not be read",
)
IN_FORCE = RuleResult(
    rule="expiry.in_force_today",
    description="Coverage in force today",
    passed=True,
    required="in force today",
    found="until June 1, 2027",
)


def _parsed(holder: Read[str]) -> ParsedCertificate:
    year = time.gmtime().tm_year + 1
    return ParsedCertificate(
        method=ReadMethod.OCR,
        form="ACORD 25",
        pages=1,
        issued=Read(date(year - 1, 6, 1), 0.97, "OCR page 1 line 2"),
        producer=Party(Read("Acme Brokers", 0.95, "OCR page 1 line 5")),
        insured=Party(Read("Dana Reyes LLC", 0.62, "OCR page 1 line 9")),  # unsure: check the PDF
        insurers=(
            Insurer("A", Read("Hartford Fire Insurance Co", 0.93, "line 6"), Read("19682", 0.9, "line 6")),
        ),
        policies=(
            PolicyEntry(
                CoverageKind.GENERAL_LIABILITY,
                Read("A", 0.9, "line 14"),
                Read("GL-123", 0.9, "line 14"),
                Read(date(year - 1, 6, 1), 0.9, "line 14"),
                Read(date(year, 6, 1), 0.9, "line 14"),
                {LimitKind.EACH_OCCURRENCE: Read(500_000, 0.9, "line 15")},
            ),
        ),
        certificate_holder=Party(holder),
    )


def _pdf() -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=14)
    pdf.cell(text="CERTIFICATE OF LIABILITY INSURANCE")
    return bytes(pdf.output())


@dataclass(frozen=True)
class Made:
    contractor: str
    certificate: str


def _contractor(
    factory: sessionmaker[Session], org_id: str, environment: str = "sandbox", name: str = "Dana Reyes"
) -> str:
    first, last = name.split()
    with factory() as session:
        tenant = Tenant(session.get(Organization, org_id), environment)  # type: ignore[arg-type]
        body = ContractorIn.model_validate(
            contractor_fields(unique_email(first.lower()), first_name=first, last_name=last)
        )
        row = add_contractor(session, tenant, body)
        session.commit()
        return row.id


def _certificate(
    factory: sessionmaker[Session],
    settings: Settings,
    org_id: str,
    contractor_id: str,
    *,
    status: CertificateStatus = CertificateStatus.FLAGGED,
    results: tuple[RuleResult, ...] = (LOW_LIMIT, IN_FORCE),
    filename: str = "coi-2026.pdf",
    environment: str = "sandbox",
    age_days: int = 0,
) -> str:
    """A certificate as the review leaves it: its PDF stored, what was read, one result per rule."""
    data = _pdf()
    created = int(time.time()) - age_days * DAY
    with factory() as session:
        tenant = Tenant(session.get(Organization, org_id), environment)  # type: ignore[arg-type]
        document = Document.new(
            tenant,
            kind="certificate",
            token=new_document_token(),
            filename="certificate.pdf",
            content_type="application/pdf",
            size=len(data),
            storage_key="",
        )
        document.storage_key = f"{org_id}/{document.id}.pdf"
        document_store(settings).put(document.storage_key, data)
        row = Certificate.new(
            tenant,
            created=created,
            contractor_id=contractor_id,
            status=status,
            filename=filename,
            document_id=document.id,
            sha256=f"{time.time_ns():064d}",
            size=len(data),
            parsed=None
            if status is CertificateStatus.ERROR
            else PARSED.dump_python(_parsed(Read()), mode="json"),
            review=None
            if status is CertificateStatus.ERROR
            else REVIEW.dump_python(list(results), mode="json"),
            error="the file is encrypted" if status is CertificateStatus.ERROR else None,
            processed_at=created + 5,
            coverage_ends=int(time.time()) + 200 * DAY,
            dispatched=True,  # no review workflow: this is what one left
        )
        session.add_all([document, row])
        session.commit()
        return row.id


def _row(factory: sessionmaker[Session], certificate_id: str) -> Certificate:
    with factory() as session:
        row = session.scalar(select(Certificate).where(Certificate.id == certificate_id))
        assert row is not None
        session.expunge(row)
        return row


def _events(factory: sessionmaker[Session], org_id: str, certificate_id: str) -> list[str]:
    with factory() as session:
        rows = session.scalars(select(Event).where(Event.organization_id == org_id).order_by(Event.created))
        return [e.type for e in rows if e.data.get("id") == certificate_id]


def _audit(factory: sessionmaker[Session], org_id: str, certificate_id: str) -> list[AuditEntry]:
    with factory() as session:
        query = select(AuditEntry).where(
            AuditEntry.organization_id == org_id, AuditEntry.target == certificate_id
        )
        return list(session.scalars(query.order_by(AuditEntry.id)))


@pytest.fixture
def flagged(session_factory: sessionmaker[Session], settings: Settings, org: Org) -> Iterator[Made]:
    contractor = _contractor(session_factory, org.id)
    yield Made(contractor, _certificate(session_factory, settings, org.id, contractor))


@pytest.mark.usefixtures("worker")
def test_a_reviewer_approves_the_failed_rules_then_the_certificate(
    api_url: str, org: Org, session_factory: sessionmaker[Session], browser: Browser
) -> None:
    """Certificates uploaded through the API and reviewed by the worker: a scan made out to the wrong holder
    is flagged; the queue shows it first; the reviewer approves each failed rule, then the certificate."""
    add_requirement(session_factory, org)
    key = org.sandbox_key
    others = [new_contractor(api_url, key) for _ in range(2)]
    approved = upload(api_url, key, others[0], factory.fillable(GOOD), "vega-acord25.pdf")
    unreadable = upload(api_url, key, others[1], factory.corrupt(), "scan-from-phone.pdf")
    contractor = new_contractor(api_url, key)
    scan = factory.scanned(factory.wrong_holder(GOOD))
    flagged = upload(api_url, key, contractor, scan, "dana-coi.pdf")
    assert reviewed(api_url, key, approved["id"])["status"] == "approved"
    assert reviewed(api_url, key, unreadable["id"])["status"] == "error"
    before = reviewed(api_url, key, flagged["id"])
    assert before["status"] == "flagged" and "certificate_holder" in failed_rules(before)
    failures = [r for r in before["review_results"]["results"] if not r["passed"]]

    operator = add_member(session_factory, org.id, Role.OPERATOR)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    sign_in(page, api_url, operator)
    flagged_now = page.locator("section", has=page.locator("#h-flagged_certificates"))
    expect(flagged_now.get_by_role("link", name=flagged["id"])).to_be_visible()  # the overview says so
    assert_accessible(page)
    page.get_by_role("link", name="Certificates", exact=True).click()
    first = page.locator("#review-queue tbody tr").first
    expect(first).to_contain_text("dana-coi.pdf")
    expect(first).to_contain_text("Jane Doe")
    expect(first).to_contain_text("Needs a decision")
    expect(first.locator("td").nth(4)).to_have_text(str(len(failures)))
    expect(page.locator("#review-queue tbody tr")).to_have_count(3)
    readme_screenshot(page, "certificates")
    assert_accessible(page)
    first.get_by_role("link", name="dana-coi.pdf").click()

    expect(page.locator("#certificate-status")).to_have_text("Needs a decision")
    expect(page.locator("#fields-read")).to_contain_text("Marisol Vega Studio LLC")
    holder = page.locator("#rule-results tr.rule", has_text="Certificate")
    expect(holder.first).to_contain_text("failed")
    expect(page.locator("#approve-blocked")).to_contain_text(f"{len(failures)} left")
    expect(page.locator("iframe[title='The certificate as uploaded (PDF)']")).to_be_visible()
    shown = page.request.get(f"{api_url}/dashboard/certificates/{flagged['id']}/pdf")
    assert (shown.status, shown.headers["content-type"]) == (200, "application/pdf")
    assert shown.body() == scan
    assert shown.headers["x-frame-options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in shown.headers["content-security-policy"]
    if os.environ.get("GIGCOVER_README_SCREENSHOTS"):
        page.wait_for_timeout(2000)  # Chromium's PDF viewer draws the page in the frame
    readme_screenshot(page, "certificate")
    page.locator("#h-rules").scroll_into_view_if_needed()
    readme_screenshot(page, "certificate-rules")
    assert_accessible(page)

    for n, rule in enumerate(failures):
        row = page.locator(f"#rule-results tr.rule[data-rule='{rule['rule']}']")
        expect(row).to_contain_text(rule["reason"])
        row.get_by_label(f"Reason to approve “{rule['description']}”").fill(f"Checked with the broker ({n})")
        row.get_by_role("button", name="Approve this rule").click()
        expect(page.get_by_role("status")).to_have_text("Rule approved.")
        expect(row).to_contain_text(f"Approved by {operator}")
    page.get_by_label("Note for the approval").fill("Holder's name changed after the merger")
    page.get_by_role("button", name="Approve the certificate").click()
    expect(page.get_by_role("status")).to_have_text("Certificate approved.")
    expect(page.locator("#certificate-status")).to_have_text("Approved")
    expect(page.locator("#decision-history")).to_contain_text("Checked with the broker (0)")
    expect(page.locator("#decision-history")).to_contain_text("Approved the certificate")
    expect(page.get_by_role("button", name="Approve the certificate")).to_have_count(0)
    assert_accessible(page)

    page.get_by_role("link", name="Jane Doe").first.click()
    ends = before["coverage_ends"]
    expect(page.locator("#compliance")).to_have_text(f"Compliant until {_day(ends)}")
    assert_accessible(page)
    page.goto(f"{api_url}/dashboard/contractors")  # the list says it too, beside the unreadable one
    expected = [(contractor, f"Compliant until {_day(ends)}"), (others[1], "Certificate could not be read")]
    for who, words in expected:
        row = page.locator("tr", has=page.locator(f"a[href='/dashboard/contractors/{who}']"))
        expect(row.locator("td").nth(4)).to_have_text(words)
    page.close()

    after = retrieve(api_url, key, flagged["id"], "review_results.full")  # what the platform sees
    assert after["status"] == "approved" and after["review_results"]["failed"] == 0
    waivers = [r["waiver"] for r in after["review_results"]["results"] if not r["passed"]]
    assert [(w["by"], w["reason"]) for w in waivers] == [
        (operator, f"Checked with the broker ({n})") for n in range(len(failures))
    ]
    events = httpx.get(
        f"{api_url}/api/v1/events", params={"type": "certificate.approved"}, auth=(key, ""), timeout=30
    ).json()
    assert [e["data"]["id"] for e in events] == [flagged["id"], approved["id"]]
    assert events[0]["data"]["status"] == "approved"
    entries = _audit(session_factory, org.id, flagged["id"])
    assert [(e.action, e.actor) for e in entries] == [
        *[("certificate.rule_approved", operator)] * len(failures),
        ("certificate.approved", operator),
    ]
    assert entries[-1].detail["before"] == {"status": "flagged"}
    assert entries[-1].detail["after"]["status"] == "approved"
    row = _row(session_factory, flagged["id"])
    assert (row.decided_by, row.decision_reason) == (operator, "Holder's name changed after the merger")


def _day(ts: int) -> str:
    moment = time.gmtime(ts)
    return f"{time.strftime('%B', moment)} {moment.tm_mday}, {moment.tm_year}"


@pytest.mark.usefixtures("worker")
def test_a_reviewer_denies_a_certificate_with_a_reason(
    api_url: str,
    org: Org,
    session_factory: sessionmaker[Session],
    browser: Browser,
    receiver: tuple[WebhookReceiver, str],
) -> None:
    hook, hook_url = receiver
    subscribed = httpx.post(
        f"{api_url}/api/v1/webhook_endpoints",
        json={"url": hook_url, "events": ["certificate.denied"]},
        auth=(org.sandbox_key, ""),
        timeout=30,
    )
    assert subscribed.status_code in (200, 201), subscribed.text
    add_requirement(session_factory, org)
    contractor = new_contractor(api_url, org.sandbox_key)
    uploaded = upload(api_url, org.sandbox_key, contractor, factory.flattened(factory.expired(GOOD, 40)))
    assert reviewed(api_url, org.sandbox_key, uploaded["id"])["status"] == "flagged"
    certificate = uploaded["id"]
    admin = add_member(session_factory, org.id, Role.ADMIN)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    sign_in(page, api_url, admin)
    page.goto(f"{api_url}/dashboard/certificates?status=flagged")
    page.get_by_role("link", name="certificate.pdf").click()
    expect(page.locator("#rule-results tr.rule[data-rule='general_liability.expiry']")).to_contain_text(
        "failed"
    )
    page.get_by_role("button", name="Deny the certificate").click()  # no reason: the browser asks for one
    expect(page.locator("#certificate-status")).to_have_text("Needs a decision")
    page.get_by_label("Reason to deny").fill(f"Expired policies {HOSTILE}")
    page.get_by_role("button", name="Deny the certificate").click()
    expect(page.get_by_role("status")).to_have_text("Certificate denied.")
    expect(page.locator("#certificate-status")).to_have_text("Denied")
    expect(page.locator("#certificate-decision")).to_contain_text(f"Expired policies {HOSTILE}")  # as text
    expect(page.get_by_role("button", name="Deny the certificate")).to_have_count(0)
    expect(page.get_by_role("button", name="Approve this rule")).to_have_count(0)
    assert_accessible(page)
    page.goto(f"{api_url}/dashboard/contractors/{contractor}")
    expect(page.locator("#compliance")).to_have_text("Denied")
    page.close()
    assert retrieve(api_url, org.sandbox_key, certificate)["status"] == "denied"
    delivered = eventually(lambda: _delivered(hook, certificate), timeout=30)  # the platform hears of it
    assert (delivered["type"], delivered["data"]["status"]) == ("certificate.denied", "denied")
    assert _events(session_factory, org.id, certificate) == ["certificate.flagged", "certificate.denied"]

    with signed_in(api_url, admin) as dashboard:  # the same decision again: refused, nothing recorded
        path = f"/dashboard/certificates/{certificate}"
        token = form_token(dashboard, "/dashboard/certificates")
        again = dashboard.post(f"{path}/deny", data={"csrf_token": token, "reason": "again"})
        approve = dashboard.post(f"{path}/approve", data={"csrf_token": token})
    assert again.status_code == 409 and "already denied" in again.text
    assert approve.status_code == 409
    assert _events(session_factory, org.id, certificate) == ["certificate.flagged", "certificate.denied"]
    assert [e.action for e in _audit(session_factory, org.id, certificate)] == ["certificate.denied"]


def _delivered(hook: WebhookReceiver, certificate_id: str) -> dict[str, Any] | None:
    for _headers, body in list(hook.requests):
        event = json.loads(body)
        if event["data"].get("id") == certificate_id:
            return dict(event)
    return None


def _post(client: httpx.Client, action: str, **data: str) -> httpx.Response:
    return client.post(action, data={"csrf_token": form_token(client, "/dashboard/certificates"), **data})


def test_refusals_change_nothing(
    api_url: str, org: Org, settings: Settings, session_factory: sessionmaker[Session], flagged: Made
) -> None:
    operator = add_member(session_factory, org.id, Role.OPERATOR)
    path = f"/dashboard/certificates/{flagged.certificate}"
    error = _certificate(
        session_factory, settings, org.id, flagged.contractor, status=CertificateStatus.ERROR
    )
    replaced = _certificate(session_factory, settings, org.id, flagged.contractor)
    with session_factory() as session:
        newer = (
            update(Certificate).where(Certificate.id == replaced).values(superseded_by=flagged.certificate)
        )
        session.execute(newer)
        session.commit()
    with signed_in(api_url, operator) as dashboard:
        early = _post(dashboard, f"{path}/approve")  # a failed rule nobody approved
        no_reason = _post(dashboard, f"{path}/rules/approve", rule=LOW_LIMIT.rule, reason="   ")
        passed = _post(dashboard, f"{path}/rules/approve", rule=IN_FORCE.rule, reason="fine")
        unknown = _post(dashboard, f"{path}/rules/approve", rule="nope", reason="fine")
        deny_blank = _post(dashboard, f"{path}/deny", reason="")
        on_error = _post(dashboard, f"/dashboard/certificates/{error}/approve")
        deny_error = _post(dashboard, f"/dashboard/certificates/{error}/deny", reason="unreadable")
        on_replaced = _post(dashboard, f"/dashboard/certificates/{replaced}/deny", reason="old")
    assert early.status_code == 409 and "Approve each failed rule first" in html.unescape(early.text)
    assert no_reason.status_code == 400 and "say why" in no_reason.text
    assert passed.status_code == 409 and unknown.status_code == 404
    assert deny_blank.status_code == 400
    assert on_error.status_code == 409 and "could not be read" in on_error.text
    assert deny_error.status_code == 409
    assert on_replaced.status_code == 409 and "replaced by a newer upload" in on_replaced.text
    for certificate_id in (flagged.certificate, error, replaced):
        assert _audit(session_factory, org.id, certificate_id) == []
        assert _events(session_factory, org.id, certificate_id) == []
    assert _row(session_factory, flagged.certificate).status is CertificateStatus.FLAGGED
    assert REVIEW.validate_python(_row(session_factory, flagged.certificate).review)[0].waiver is None


def test_another_organizations_or_environments_certificate_is_not_found(
    api_url: str, org: Org, settings: Settings, session_factory: sessionmaker[Session], flagged: Made
) -> None:
    other = make_org(session_factory, "Other Platform")
    intruder = add_member(session_factory, other.id, Role.ADMIN)
    production = _contractor(session_factory, org.id, "production")
    in_production = _certificate(session_factory, settings, org.id, production, environment="production")
    mine = add_member(session_factory, org.id, Role.ADMIN)  # views sandbox
    cases = [(intruder, flagged.certificate), (mine, in_production)]
    for email, certificate_id in cases:
        with signed_in(api_url, email) as dashboard:
            path = f"/dashboard/certificates/{certificate_id}"
            assert dashboard.get(path).status_code == 404
            assert dashboard.get(f"{path}/pdf").status_code == 404
            listed = dashboard.get("/dashboard/certificates").text
            assert certificate_id not in listed
            for action, data in [
                ("rules/approve", {"rule": LOW_LIMIT.rule, "reason": "mine now"}),
                ("deny", {"reason": "mine now"}),
                ("approve", {}),
            ]:
                assert _post(dashboard, f"{path}/{action}", **data).status_code == 404
    for certificate_id in (flagged.certificate, in_production):
        assert _row(session_factory, certificate_id).status is CertificateStatus.FLAGGED
        assert _audit(session_factory, org.id, certificate_id) == []
        assert _events(session_factory, org.id, certificate_id) == []


def test_members_who_may_not_decide_are_refused_and_forged_forms_change_nothing(
    api_url: str, org: Org, session_factory: sessionmaker[Session], flagged: Made
) -> None:
    path = f"/dashboard/certificates/{flagged.certificate}"
    for role in (Role.VIEWER, Role.FINANCE):
        with signed_in(api_url, add_member(session_factory, org.id, role)) as dashboard:
            shown = dashboard.get(path)
            assert shown.status_code == 200 and "Approve this rule" not in shown.text
            assert "Deny the certificate" not in shown.text
            assert _post(dashboard, f"{path}/deny", reason="no").status_code == 403
            assert (
                _post(dashboard, f"{path}/rules/approve", rule=LOW_LIMIT.rule, reason="x").status_code == 403
            )
    with signed_in(api_url, add_member(session_factory, org.id, Role.OPERATOR)) as dashboard:
        forged = dashboard.post(f"{path}/deny", data={"reason": "no token"})
        other_token = dashboard.post(f"{path}/deny", data={"reason": "x", "csrf_token": "0" * 64})
    assert forged.status_code == 403 and other_token.status_code == 403
    assert _row(session_factory, flagged.certificate).status is CertificateStatus.FLAGGED
    assert _audit(session_factory, org.id, flagged.certificate) == []


def test_hostile_filenames_and_reasons_are_shown_as_text(
    api_url: str, org: Org, settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    contractor = _contractor(session_factory, org.id)
    certificate = _certificate(session_factory, settings, org.id, contractor, filename=f"{HOSTILE}.pdf")
    operator = add_member(session_factory, org.id, Role.OPERATOR)
    with signed_in(api_url, operator) as dashboard:
        path = f"/dashboard/certificates/{certificate}"
        assert (
            _post(dashboard, f"{path}/rules/approve", rule=LOW_LIMIT.rule, reason=HOSTILE).status_code == 303
        )
        pages = [
            dashboard.get(p).text
            for p in (path, "/dashboard/certificates", f"/dashboard/contractors/{contractor}")
        ]
        pdf = dashboard.get(f"{path}/pdf")
        framed = dashboard.get(path).headers
    for text in pages:
        assert "<script>alert" not in text and "<img src=x" not in text
        assert "&lt;script&gt;alert" in text
    assert pdf.headers["content-disposition"] == f'inline; filename="{certificate}.pdf"'
    assert "frame-ancestors 'none'" in framed["content-security-policy"]  # pages stay unframeable
    assert framed["x-frame-options"] == "DENY"


@pytest.mark.usefixtures("worker")
def test_an_operator_emails_a_contractor_an_upload_link(
    api_url: str, org: Org, session_factory: sessionmaker[Session], smtp_sink: SmtpSink, browser: Browser
) -> None:
    contractor = _contractor(session_factory, org.id)
    with session_factory() as session:
        email = session.scalars(select(Contractor.email).where(Contractor.id == contractor)).one()
    operator = add_member(session_factory, org.id, Role.OPERATOR)
    page = browser.new_page()
    sign_in(page, api_url, operator)
    page.goto(f"{api_url}/dashboard/contractors/{contractor}")
    expect(page.locator("#compliance")).to_have_text("No certificate")
    page.get_by_role("button", name="Email an upload link").click()
    expect(page.get_by_role("status")).to_have_text("Upload link sent.")
    assert_accessible(page)
    page.close()
    (body,) = eventually(lambda: _mail_to(smtp_sink, email), timeout=30)
    link = re.search(r"http://\S+/certificates/\S+", body)
    assert link, body
    assert httpx.get(link.group(0).rstrip("."), timeout=30).status_code == 200  # the contractor's upload page
    with signed_in(api_url, add_member(session_factory, org.id, Role.VIEWER)) as dashboard:
        path = f"/dashboard/contractors/{contractor}"
        assert "Email an upload link" not in dashboard.get(path).text
        assert _post(dashboard, f"{path}/certificate-link").status_code == 403
    time.sleep(1)
    assert len(_mail_to(smtp_sink, email)) == 1
    assert [e.action for e in _audit(session_factory, org.id, contractor)] == ["certificate.requested"]


def _mail_to(smtp_sink: SmtpSink, recipient: str) -> list[str]:
    return [
        m.get_body(preferencelist=("plain",)).get_content()  # type: ignore[attr-defined]
        for m in list(smtp_sink.messages)
        if m["To"] == recipient  # type: ignore[index]
    ]


def test_reviewers_deciding_at_once_make_one_decision(
    api_url: str, org: Org, session_factory: sessionmaker[Session], flagged: Made
) -> None:
    path = f"/dashboard/certificates/{flagged.certificate}"
    reviewers = [add_member(session_factory, org.id, Role.OPERATOR) for _ in range(4)]
    clients = [signed_in_client(api_url, email) for email in reviewers]
    tokens = [form_token(c, path) for c in clients]
    try:
        with ThreadPoolExecutor(len(clients)) as pool:
            answers = list(
                pool.map(
                    lambda i: clients[i].post(
                        f"{path}/deny", data={"csrf_token": tokens[i], "reason": f"reviewer {i}"}
                    ),
                    range(len(clients)),
                )
            )
    finally:
        for c in clients:
            c.close()
    assert sorted(a.status_code for a in answers) == [303, 409, 409, 409]
    assert _events(session_factory, org.id, flagged.certificate) == ["certificate.denied"]
    (entry,) = _audit(session_factory, org.id, flagged.certificate)
    assert _row(session_factory, flagged.certificate).decided_by == entry.actor


def test_reviewers_approving_two_rules_at_once_keep_both(
    api_url: str, org: Org, settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    contractor = _contractor(session_factory, org.id)
    certificate = _certificate(
        session_factory, settings, org.id, contractor, results=(LOW_LIMIT, NO_HOLDER, IN_FORCE)
    )
    path = f"/dashboard/certificates/{certificate}"
    rules = [LOW_LIMIT.rule, NO_HOLDER.rule] * 2
    clients = [signed_in_client(api_url, add_member(session_factory, org.id, Role.OPERATOR)) for _ in rules]
    tokens = [form_token(c, path) for c in clients]
    try:
        with ThreadPoolExecutor(len(clients)) as pool:
            answers = list(
                pool.map(
                    lambda i: clients[i].post(
                        f"{path}/rules/approve",
                        data={"csrf_token": tokens[i], "rule": rules[i], "reason": f"reviewer {i}"},
                    ),
                    range(len(clients)),
                )
            )
    finally:
        for c in clients:
            c.close()
    assert sorted(a.status_code for a in answers) == [303, 303, 409, 409]
    waived = {r.rule: r.waiver for r in REVIEW.validate_python(_row(session_factory, certificate).review)}
    assert waived[LOW_LIMIT.rule] is not None and waived[NO_HOLDER.rule] is not None
    assert len(_audit(session_factory, org.id, certificate)) == 2
