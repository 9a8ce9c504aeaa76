"""Every notification email, rendered, recorded and delivered over SMTP by the real worker."""

import asyncio
import time
from email.message import EmailMessage

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from common.settings import Settings
from notifications.catalog import (
    CATALOG,
    STAFF_KINDS,
    ApplicationLink,
    ApplicationReminder,
    ApplicationReviewApproved,
    ApplicationReviewDeclined,
    AssignmentChargeFailure,
    AssignmentChargeReminder,
    AssignmentPaymentAuthentication,
    Audience,
    BillOverdue,
    CertificateRenewal,
    CertificateRequest,
    CoverageExtended,
    EmailContext,
    EmailKind,
    MemberInvitation,
    MoneyEmail,
    PasswordReset,
    PaymentConfirmation,
    PaymentReminder,
    PortalSignIn,
    PremiumChangeForContractor,
    PremiumChangeForOrganization,
)
from notifications.render import money, render_email
from outbox.dispatch import Dispatcher
from outbox.records import committed_items, enqueue_email
from tests.support import Org, SmtpSink

AT = 1_804_075_200  # March 3, 2027 12:00 UTC
ORG = "Test Platform"
CONTRACTOR = {"organization_name": ORG, "contractor_name": "Jane Doe"}
PORTAL = "http://127.0.0.1:8000/my"
MONEY = {**CONTRACTOR, "portal_url": PORTAL}  # an email about the contractor's money links to their portal
CHANGE = {"job_name": "Spring campaign", "previous_amount": 3125, "new_amount": 4000}
REP = {"organization_name": ORG, "representative_name": "Pat Payables", "contractor_name": "Jane Doe"}

FOOTERS = {
    Audience.CONTRACTOR: f"because you are covered, or applying for coverage, through {ORG}.",
    Audience.ORGANIZATION: f"because you are {ORG}'s billing contact for the insurance premiums it pays",
    Audience.STAFF: f"Sent by gigcover, which runs {ORG}'s insurance dashboard.",
}
# A contractor email with its own reason, naming no organization: the portal's sign-in link (an organization's
# name is chosen by whoever holds its sandbox key, and must not brand mail to any address they type).
OWN_REASONS = {
    EmailKind.PORTAL_SIGN_IN: "because someone asked, on the insurance portal's sign-in page, for a sign-in",
}
STAFF_REASONS = {
    EmailKind.MEMBER_INVITATION: "because admin@platform.example invited this address to join it.",
    EmailKind.PASSWORD_RESET: "asked, on its sign-in page, to reset the password of the account",
}

# kind -> (recipient, context, phrases the text must contain)
CASES: dict[EmailKind, tuple[str, EmailContext, list[str]]] = {
    EmailKind.MEMBER_INVITATION: (
        "ops@platform.example",
        MemberInvitation(
            organization_name=ORG,
            invited_by="admin@platform.example",
            role="operator",
            url="http://127.0.0.1:8000/dashboard/invitation/abc",
            expires_at=AT,
        ),
        ["admin@platform.example invited you", "as operator", "/dashboard/invitation/abc", "March 3, 2027"],
    ),
    EmailKind.PASSWORD_RESET: (
        "ops@platform.example",
        PasswordReset(organization_name=ORG, url="http://127.0.0.1:8000/dashboard/reset/abc", expires_at=AT),
        ["reset the password", "/dashboard/reset/abc", "March 3, 2027"],
    ),
    EmailKind.CERTIFICATE_REQUEST: (
        "jane@example.com",
        CertificateRequest(**CONTRACTOR, url="http://127.0.0.1:8000/certificates/abc", expires_at=AT),
        ["Hi Jane Doe", "certificate of insurance", "/certificates/abc", "March 3, 2027"],
    ),
    EmailKind.CERTIFICATE_RENEWAL: (
        "jane@example.com",
        CertificateRenewal(
            **CONTRACTOR,
            url="http://127.0.0.1:8000/certificates/abc",
            coverage_ends=AT,
            days_left=30,
            expires_at=AT,
        ),
        ["Hi Jane Doe", "renewed certificate", "/certificates/abc", "March 3, 2027", "30 days"],
    ),
    EmailKind.COVERAGE_EXTENDED: (
        "jane@example.com",
        CoverageExtended(
            **CONTRACTOR, job_name="Spring campaign", previous_end_date=AT - 86_400, end_date=AT
        ),
        ["Hi Jane Doe", "Spring campaign", "March 2, 2027", "March 3, 2027"],
    ),
    EmailKind.BILL_OVERDUE: (
        "ap@platform.example",
        BillOverdue(
            organization_name=ORG,
            representative_name="Pat Payables",
            bill_number="bl_7Gh2",
            amount_due=3125,
            due_date=AT,
            purchase_order_number="PO-7781",
            pdf_url="http://127.0.0.1:8000/files/abc/bill-bl_7Gh2.pdf",
        ),
        ["Hi Pat Payables", "bl_7Gh2", "$31.25", "March 3, 2027", "PO-7781", "bill-bl_7Gh2.pdf"],
    ),
    EmailKind.APPLICATION_LINK: (
        "jane@example.com",
        ApplicationLink(
            **CONTRACTOR, url="http://127.0.0.1:8000/apply/ias_01", job_name="Spring campaign", expires_at=AT
        ),
        ["Hi Jane Doe", "http://127.0.0.1:8000/apply/ias_01", "March 3, 2027"],
    ),
    EmailKind.APPLICATION_REMINDER: (
        "jane@example.com",
        ApplicationReminder(
            **CONTRACTOR,
            url="http://127.0.0.1:8000/apply/tok",
            job_name="Spring campaign",
            opened_at=AT,
            expires_at=AT + 3 * 86_400,
        ),
        ["Hi Jane Doe", "is not finished yet", "Spring campaign", "/apply/tok", "March 6"],
    ),
    EmailKind.APPLICATION_REVIEW_APPROVED: (
        "jane@example.com",
        ApplicationReviewApproved(
            **CONTRACTOR, url="http://127.0.0.1:8000/apply/tok", job_name="Spring campaign", expires_at=AT
        ),
        ["Hi Jane Doe", "approved", "Spring campaign", "http://127.0.0.1:8000/apply/tok", "March 3, 2027"],
    ),
    EmailKind.APPLICATION_REVIEW_DECLINED: (
        "jane@example.com",
        ApplicationReviewDeclined(
            **CONTRACTOR, reason="Five claims in three years.", job_name="Spring campaign"
        ),
        [
            "Hi Jane Doe",
            "cannot offer you this coverage",
            "Five claims in three years.",
            "Nothing was charged",
        ],
    ),
    EmailKind.PAYMENT_REMINDER: (
        "jane@example.com",
        PaymentReminder(**MONEY, amount=3125, payment_date=AT, payment_method="Visa ending 4242"),
        ["$31.25", "March 3, 2027", "Visa ending 4242"],
    ),
    EmailKind.PAYMENT_CONFIRMATION: (
        "jane@example.com",
        PaymentConfirmation(
            **MONEY,
            amount=3125,
            reference_number="pi_3Nabc",
            payment_method="Visa ending 4242",
            paid_at=AT,
        ),
        ["$31.25", "pi_3Nabc", "Visa ending 4242"],
    ),
    EmailKind.PREMIUM_INCREASE_CONTRACTOR: (
        "jane@example.com",
        PremiumChangeForContractor(**MONEY, **CHANGE, payment_method="Visa ending 4242"),
        ["went up", "$31.25", "$40.00", "difference of $8.75"],
    ),
    EmailKind.PREMIUM_INCREASE_ORGANIZATION: (
        "ap@platform.example",
        PremiumChangeForOrganization(**REP, **CHANGE, paid_by="the contractor's card"),
        ["Hi Pat Payables", "Jane Doe", "$8.75", "went up"],
    ),
    EmailKind.PREMIUM_DECREASE_CONTRACTOR: (
        "jane@example.com",
        PremiumChangeForContractor(
            **MONEY,
            job_name="Spring campaign",
            previous_amount=4000,
            new_amount=3125,
            payment_method="Visa ending 4242",
        ),
        ["went down", "refunding the difference of $8.75"],
    ),
    EmailKind.PREMIUM_DECREASE_ORGANIZATION: (
        "ap@platform.example",
        PremiumChangeForOrganization(
            **REP,
            job_name="Spring campaign",
            previous_amount=4000,
            new_amount=3125,
            paid_by="your organization (remit)",
        ),
        ["went down", "$8.75", "your organization (remit)"],
    ),
    EmailKind.ASSIGNMENT_CHARGE_REMINDER: (
        "jane@example.com",
        AssignmentChargeReminder(
            **MONEY,
            job_name="Spring campaign",
            amount=3125,
            charge_at=AT,
            payment_method="Visa ending 4242",
        ),
        ["$31.25", "March 3, 2027 at 12:00 UTC", "24 hours"],
    ),
    EmailKind.ASSIGNMENT_CHARGE_FAILURE: (
        "jane@example.com",
        AssignmentChargeFailure(
            **MONEY,
            job_name="Spring campaign",
            amount=3125,
            reason="the card has insufficient funds",
        ),
        ["insufficient funds", "not active", "$31.25"],
    ),
    EmailKind.ASSIGNMENT_PAYMENT_AUTHENTICATION: (
        "jane@example.com",
        AssignmentPaymentAuthentication(
            **MONEY,
            job_name="Spring campaign",
            amount=3125,
            card_url="http://127.0.0.1:8000/cards/tok",
        ),
        [
            "confirm the payment",
            "not active",
            "$31.25",
            "/cards/tok",
            "charge that card instead, once",
        ],
    ),
    EmailKind.PORTAL_SIGN_IN: (
        "jane@example.com",
        PortalSignIn(organization_name=ORG, url="http://127.0.0.1:8000/my/link/tok", expires_at=AT),
        ["http://127.0.0.1:8000/my/link/tok", "works", "March 3, 2027"],
    ),
}


def test_every_email_about_the_contractors_money_links_to_their_portal() -> None:
    money_kinds = {kind for kind, (_, context, _) in CASES.items() if isinstance(context, MoneyEmail)}
    assert money_kinds == {
        EmailKind.PAYMENT_REMINDER,
        EmailKind.PAYMENT_CONFIRMATION,
        EmailKind.PREMIUM_INCREASE_CONTRACTOR,
        EmailKind.PREMIUM_DECREASE_CONTRACTOR,
        EmailKind.ASSIGNMENT_CHARGE_REMINDER,
        EmailKind.ASSIGNMENT_CHARGE_FAILURE,
        EmailKind.ASSIGNMENT_PAYMENT_AUTHENTICATION,
    }
    for kind in money_kinds:
        rendered = render_email(kind, CASES[kind][1])
        assert PORTAL in rendered.text and f'href="{PORTAL}"' in rendered.html, kind
    for kind in (EmailKind.ASSIGNMENT_CHARGE_REMINDER, EmailKind.ASSIGNMENT_CHARGE_FAILURE):
        rendered = render_email(kind, CASES[kind][1])  # the card is changed in the portal, only
        assert "/cards/" not in rendered.text + rendered.html and "portal" in rendered.text, kind


def test_every_kind_has_a_case() -> None:
    assert set(CASES) == set(EmailKind)


@pytest.mark.parametrize(
    "cents, text", [(0, "$0.00"), (5, "$0.05"), (123456789, "$1,234,567.89"), (-250, "-$2.50")]
)
def test_money(cents: int, text: str) -> None:
    assert money(cents) == text


def test_wrong_context_is_refused() -> None:
    with pytest.raises(TypeError, match="payment_reminder needs a PaymentReminder"):
        render_email(EmailKind.PAYMENT_REMINDER, CASES[EmailKind.PAYMENT_CONFIRMATION][1])


def test_html_is_escaped() -> None:
    context = PaymentReminder(
        organization_name="<script>",
        contractor_name="Jane",
        amount=1,
        payment_date=AT,
        payment_method="card",
        portal_url=PORTAL,
    )
    assert "<script>" not in render_email(EmailKind.PAYMENT_REMINDER, context).html


@pytest.mark.usefixtures("worker")
async def test_each_notification_arrives_over_smtp(
    temporal_address: str,
    settings: Settings,
    api_url: str,
    session_factory: sessionmaker[Session],
    smtp_sink: SmtpSink,
    org: Org,
) -> None:
    smtp_sink.messages.clear()
    with session_factory() as session:
        ids = {
            kind: enqueue_email(
                session, org.id, "sandbox", kind, recipient, context, {"test": "notifications"}
            ).id
            for kind, (recipient, context, _) in CASES.items()
        }
        session.commit()
        items = committed_items(session)
    client = await Client.connect(temporal_address, data_converter=pydantic_data_converter)
    assert await Dispatcher(client, settings, session_factory, asyncio.get_running_loop()).dispatch(
        items
    ) == len(CASES)

    deadline = time.monotonic() + 30
    while len(smtp_sink.messages) < len(CASES) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    received: dict[str, EmailMessage] = {m["X-Gigcover-Kind"]: m for m in smtp_sink.messages}  # type: ignore[index,misc]
    assert set(received) == {k.value for k in EmailKind}

    for kind, (recipient, context, phrases) in CASES.items():
        message = received[kind.value]
        assert message["To"] == recipient
        assert message["Subject"] == render_email(kind, context).subject
        assert message["Message-ID"] == f"<{ids[kind]}@gigcover>"
        text = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
        html = message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
        for phrase in phrases:
            assert phrase in text, (kind, phrase)
        assert ORG in text and ORG in html and "<html" in html
        audience = CATALOG[kind].audience  # each email's footer is its audience's, in both parts
        for body in (text, html.replace("&#39;", "'")):
            assert OWN_REASONS.get(kind, FOOTERS[audience]) in body, kind
            covered = audience is Audience.CONTRACTOR and kind not in OWN_REASONS
            assert ("covered, or applying for coverage" in body) == covered, kind
            assert ("insurance dashboard." in body) == (audience is Audience.STAFF), kind
            if kind in STAFF_REASONS:
                assert STAFF_REASONS[kind] in body, kind

    async with httpx.AsyncClient(base_url=f"{api_url}/api/v1", auth=(org.sandbox_key, "")) as http:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            records = (await http.get("/emails", params={"limit": 20})).json()
            if all(r["status"] == "sent" for r in records):
                break
            await asyncio.sleep(0.1)
        assert {(r["kind"], r["recipient"], r["status"]) for r in records} == {
            (kind.value, recipient, "sent")
            for kind, (recipient, _, _) in CASES.items()
            if kind not in STAFF_KINDS  # members' mail is not the organization's to list
        }
        assert all(r["sent_at"] and r["related"] == {"test": "notifications"} for r in records)
        assert (await http.get("/emails", params={"kind": "payment_reminder"})).json()[0]["subject"] == (
            "Upcoming insurance payment of $31.25"
        )
