"""One money lifecycle per engagement (issue 13), through the official client, the hosted pages over HTTP,
the real worker on the dev server and localstripe: the first job's final pay after its application was
charged, a standard-path assignment that waits for its application, repeat coverage from the application
on file, invoices PUT back and forth, the PO number on the bills, and the events and emails on the way."""

import asyncio
import os
import time
from typing import Any

import httpx
import pytest
import ten99policy
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from activities.assignments import AssignmentActivities
from common.settings import Settings
from contracts.assignment import AssignmentProgress
from contracts.delivery import LIFECYCLE_SWEEP_WORKFLOW, LifecycleResult
from db.models import ApplicationSession, Bill, Invoice, Policy
from domain.dates import DAY
from domain.premium import premium_cents
from domain.roles import Role
from integrations.stripe_gateway import StripeGateway
from outbox.dispatch import Dispatcher
from services.billing import expire_policies
from tests.dashboard_support import add_member, signed_in
from tests.histories import keep_history
from tests.portal_support import replace_card_in_portal
from tests.support import (
    Org,
    SmtpSink,
    card,
    contractor_fields,
    entity_fields,
    eventually,
    intents_of,
    job_fields,
    refunded_to,
    unique_email,
)
from tests.test_application_flow import CANCEL, SUCCESS, _fill_application
from tests.test_assignment_workflow import save_card
from tests.test_assignments_api import _card_paid_assignment

pytestmark = pytest.mark.usefixtures("worker")
PHOTOGRAPHY = "jc_mYfgO5MfLoPK5fku"  # data/job_categories.json: "photographer"
SEED_INVOICE = {"paycycle_startdate": 1714419793, "paycycle_enddate": 1714419793}


def _contractor_and_job(**job: object) -> tuple[str, str]:
    entity = ten99policy.Entities.create(**entity_fields())["id"]
    contractor = ten99policy.Contractors.create(**contractor_fields(unique_email()))["id"]
    return contractor, ten99policy.Jobs.create(**job_fields(entity, **job))["id"]


def _apply(
    contractor: str, job: str, localstripe: str, card: str | None = "4242424242424242"
) -> dict[str, Any]:
    """The seeds' getting-started flow: quote the job, then the contractor completes the hosted application
    (clicked through over HTTP, as a browser would). Returns the quote."""
    quote = ten99policy.Quotes.create(contractor=contractor, job=job, coverage_type=["workers-comp"])
    session = ten99policy.InsuranceApplicationSessions.create(
        quote=quote["id"], success_url=SUCCESS, cancel_url=CANCEL
    )
    with httpx.Client(base_url=str(ten99policy.api_base), timeout=60) as browser:
        assert _fill_application(browser, session["url"], card, localstripe) == SUCCESS
    return dict(quote)


def _assignment_of(contractor: str) -> dict[str, Any]:
    found = ten99policy.Assignments.list(contractor=contractor)
    assert len(found) == 1, found
    return dict(found[0])


def _api(method: str, path: str, **body: object) -> httpx.Response:
    """What the official client has no call for (emails, bills, cancel), with the same key."""
    return httpx.request(
        method,
        f"{ten99policy.api_base}/api/v1{path}",
        json=body or None,
        params={"limit": 100} if method == "GET" else None,
        auth=(str(ten99policy.api_key), ""),
        timeout=30,
    )


def _emails(kind: str, assignment: str) -> list[dict[str, Any]]:
    emails = _api("GET", "/emails").json()
    return [e for e in emails if e["kind"] == kind and e["related"].get("assignment") == assignment]


def _bills(contractor: str) -> list[dict[str, Any]]:
    return [b for b in _api("GET", "/bills").json() if b["contractor"] == contractor]


def await_history(workflow_id: str, scenario: str) -> None:
    """Record the workflow's history so far (GIGCOVER_RECORD_HISTORIES=1), for tests/test_replay.py."""

    async def record() -> None:
        client = await Client.connect(TEMPORAL[0], data_converter=pydantic_data_converter)
        await keep_history(client.get_workflow_handle(workflow_id), scenario)

    if os.environ.get("GIGCOVER_RECORD_HISTORIES"):
        asyncio.run(record())


TEMPORAL: list[str] = []


@pytest.fixture(autouse=True)
def _temporal(temporal_address: str) -> None:
    TEMPORAL[:] = [temporal_address]


def _events(kind: str) -> list[dict[str, Any]]:
    return list(ten99policy.Events.list(type=kind, limit=100))


def test_the_first_jobs_final_pay_is_charged_or_refunded_on_the_card(
    client: object, org: Org, localstripe: str
) -> None:
    """Seed 001, "Changes to contractor pay amounts", for a contractor's first job: the estimate is charged
    when the application completes; the final pay (the seed's own Invoices.create) moves the difference."""
    contractor, job = _contractor_and_job(wage=500_000)
    quote = _apply(contractor, job, localstripe)
    assignment = _assignment_of(contractor)
    assert (assignment["status"], assignment["policy"]) == (
        "active",
        ten99policy.Policies.list(contractor=contractor)[0]["id"],
    )
    assert assignment["premium"] == quote["premium_due"]

    lower = ten99policy.Invoices.create(contractor=contractor, job=job, gross_pay=1200, **SEED_INVOICE)
    assert lower["premium_due"] == premium_cents(1200, quote["net_rate"])
    refund = quote["premium_due"] - lower["premium_due"]
    eventually(lambda: refunded_to(localstripe, assignment["id"]) == refund, timeout=30)
    eventually(lambda: ten99policy.Invoices.retrieve(lower["id"])["status"] == "paid", timeout=30)
    assert ten99policy.Invoices.retrieve(lower["id"])["paid_at"]
    eventually(lambda: _emails("premium_decrease_contractor", assignment["id"]), timeout=30)

    higher = ten99policy.Invoices.create(contractor=contractor, job=job, gross_pay=800_000, **SEED_INVOICE)
    debit = higher["premium_due"] - lower["premium_due"]
    eventually(
        lambda: ("succeeded", debit) in intents_of(localstripe, assignment["id"], key="assignment"),
        timeout=30,
    )
    assert ten99policy.Invoices.retrieve(lower["id"])["status"] == "paid"  # settled: not outstanding
    eventually(lambda: _emails("premium_increase_contractor", assignment["id"]), timeout=30)
    live = eventually(
        lambda: (
            (a := ten99policy.Assignments.retrieve(assignment["id"]))["premium_collected"]
            == higher["premium_due"]
            and a
        ),
        timeout=30,
    )
    assert live["premium"] == higher["premium_due"]
    await_history(f"assignment-{assignment['id']}", "engagement_first_job_refunded_then_charged")
    await_history(f"application-{assignment['application_session']}", "application_handed_over_to_assignment")
    charged = [
        e for e in _events("invoice.charge_card_succeeded") if e["data"].get("contractor") == contractor
    ]
    assert sorted(e["data"]["amount"] for e in charged) == sorted([quote["premium_due"], debit])
    assert _events("application.started") and _events("application.created")


def test_the_first_job_of_a_remit_organization_gets_an_adjustment_bill_with_its_po(
    client: object, org: Org, localstripe: str
) -> None:
    contractor, job = _contractor_and_job(
        withhold_premium=True, custom_metadata={"purchase_order_number": "PO-7781"}
    )
    quote = _apply(contractor, job, localstripe, card=None)
    first = _bills(contractor)
    assert [(b["purchase_order_number"], b["amount_due"]) for b in first] == [
        ("PO-7781", quote["premium_due"])
    ]
    final = ten99policy.Invoices.create(
        contractor=contractor, job=job, gross_pay=600_000, purchase_order_number="PO-7782", **SEED_INVOICE
    )
    adjustment = eventually(lambda: [b for b in _bills(contractor) if b["id"] != first[0]["id"]], timeout=30)
    assert adjustment[0]["amount_due"] == final["premium_due"] - quote["premium_due"]
    assert adjustment[0]["purchase_order_number"] == "PO-7782"


def test_invoices_put_back_and_forth_charge_the_last_amount(
    client: object, org: Org, session_factory: sessionmaker[Session], settings: Settings, localstripe: str
) -> None:
    """POST A, PUT B, PUT A, PUT B in the notice window: the premium to charge is B's (each PUT takes
    effect, even one back to an amount the invoice had before)."""
    contractor, job, *_, assignment = _card_paid_assignment(session_factory, settings, org, localstripe)
    eventually(lambda: ten99policy.Assignments.retrieve(assignment["id"]).get("charge_due_at"), timeout=20)
    invoice = ten99policy.Invoices.create(contractor=contractor, job=job, gross_pay=300_000, **SEED_INVOICE)
    for gross in (200_000, 300_000, 200_000):
        invoice = ten99policy.Invoices.modify(invoice["id"], gross_pay=gross)
    live = ten99policy.Assignments.retrieve(assignment["id"])
    assert (live["premium"], live["status"]) == (invoice["premium_due"], "pending")
    await_history(f"assignment-{assignment['id']}", "assignment_invoice_put_back_and_forth")
    assert ten99policy.Invoices.retrieve(invoice["id"])["status"] == "open"


def _standard_path_assignment(contractor: str, job: str) -> dict[str, Any]:
    """An assignment for a contractor with no application on file: it waits for one, starting in 3 days."""
    start = int(time.time()) + 3 * DAY
    return dict(
        ten99policy.Assignments.create(
            contractor=contractor,
            job=job,
            coverage_type=["workers-comp"],
            effective_date=start,
            end_date=start + 10 * DAY,
        )
    )


def test_a_standard_path_assignment_waits_for_its_application_and_cancels_without_money(
    client: object, org: Org, localstripe: str
) -> None:
    contractor, job = _contractor_and_job()
    waiting = _standard_path_assignment(contractor, job)
    assert (waiting["coverage_path"], waiting["status"]) == ("standard", "awaiting_application")
    early = _api("POST", "/invoices", contractor=contractor, job=job, gross_pay=100_000, **SEED_INVOICE)
    assert early.status_code == 400 and "application" in early.json()["message"]
    cancelled = _api("POST", "/assignments/cancel", job_id=job, reason="client_request").json()
    assert cancelled["status"] == "cancelled"
    assert [e for e in _events("assignment.cancelled") if e["data"]["id"] == waiting["id"]]
    application = ten99policy.InsuranceApplicationSessions.retrieve(waiting["application_session"])
    assert application["status"] == "EXPIRED"
    assert intents_of(localstripe, waiting["application_session"]) == []
    await_history(f"assignment-{waiting['id']}", "engagement_standard_path_cancelled_before_application")


def test_an_assignment_that_ended_while_its_application_completed_refunds_the_capture(
    client: object, org: Org, localstripe: str
) -> None:
    """The race of a cancel with the contractor's last click: the application captures the premium, then
    finds its assignment's workflow gone. The premium goes back to the card, once."""
    contractor, job = _contractor_and_job()
    waiting = _standard_path_assignment(contractor, job)
    session = ten99policy.InsuranceApplicationSessions.retrieve(waiting["application_session"])

    async def end_the_assignment() -> None:
        temporal = await Client.connect(TEMPORAL[0], data_converter=pydantic_data_converter)
        await temporal.get_workflow_handle(f"assignment-{waiting['id']}").terminate("ended in the race")

    asyncio.run(end_the_assignment())
    with httpx.Client(base_url=str(ten99policy.api_base), timeout=60) as browser:
        finished = _fill_application(browser, session["url"], "4242424242424242", localstripe)
    assert finished.endswith("/apply/finished")  # the assignment's own application: our finished page
    assert intents_of(localstripe, session["id"]) == [("succeeded", session["premium"])]
    eventually(lambda: refunded_to(localstripe, waiting["id"]) == session["premium"], timeout=30)
    time.sleep(1)
    assert refunded_to(localstripe, waiting["id"]) == session["premium"]  # once


def test_repeat_coverage_binds_from_the_application_on_file_after_the_policy_window(
    client: object, org: Org, localstripe: str
) -> None:
    """ "Managing repeat coverage": a month later, the same kind of work binds from the completed
    application; a different job category names the rule and sends a new application."""
    contractor, job = _contractor_and_job()
    _apply(contractor, job, localstripe)
    entity = ten99policy.Entities.create(**entity_fields(name="Next Brand"))["id"]
    later_job = ten99policy.Jobs.create(**job_fields(entity))["id"]
    start = int(time.time()) + 45 * DAY
    repeat = ten99policy.Assignments.create(
        contractor=contractor,
        job=later_job,
        coverage_type=["workers-comp"],
        effective_date=start,
        end_date=start + 7 * DAY,
    )
    assert repeat["coverage_path"] == "application_on_file" and repeat["eligible"]["result"] is True
    bound = eventually(
        lambda: (a := ten99policy.Assignments.retrieve(repeat["id"]))["policy"] and a, timeout=30
    )
    policy = ten99policy.Policies.retrieve(bound["policy"])
    assert (policy["effective_date"], policy["expiration_date"]) == (start, start + 7 * DAY)
    assert httpx.get(bound["certificates"]["wc_coi_pdf_url"], timeout=30).content.startswith(b"%PDF")
    await_history(f"assignment-{repeat['id']}", "assignment_repeat_from_the_application_on_file")

    other_job = ten99policy.Jobs.create(**job_fields(entity, category_code=PHOTOGRAPHY))["id"]
    mismatch = ten99policy.Assignments.create(
        contractor=contractor,
        job=other_job,
        coverage_type=["workers-comp"],
        effective_date=start,
        end_date=start + 7 * DAY,
    )
    assert mismatch["coverage_path"] == "standard" and mismatch["eligible"]["result"] is False
    assert mismatch["eligible"]["message"].startswith("Job category mismatch")


def test_the_charged_invoice_is_paid_even_after_a_put(
    session_factory: sessionmaker[Session], settings: Settings, org: Org, client: object, localstripe: str
) -> None:
    """The workflow names a PUT invoice by its adjustment key (``in_…:<gross>``): the stored invoice is marked
    paid all the same when that premium is charged."""
    contractor, job = _contractor_and_job()
    _apply(contractor, job, localstripe)
    assignment = _assignment_of(contractor)
    invoice = ten99policy.Invoices.create(contractor=contractor, job=job, gross_pay=300_000, **SEED_INVOICE)
    with session_factory() as session:
        session.get(
            Invoice, session.scalar(select(Invoice.seq).where(Invoice.id == invoice["id"]))
        ).status = "open"  # type: ignore[union-attr]
        session.commit()
    activities = AssignmentActivities(session_factory, settings, StripeGateway(settings), _NoDispatch())  # type: ignore[arg-type]
    activities.record_assignment_progress(
        AssignmentProgress(
            assignment_id=assignment["id"],
            status="active",
            collected=invoice["premium_due"],
            premium=invoice["premium_due"],
            paid_invoice_id=f"{invoice['id']}:300000",
        )
    )
    assert ten99policy.Invoices.retrieve(invoice["id"])["status"] == "paid"


class _NoDispatch(Dispatcher):
    def __init__(self) -> None:
        pass

    def dispatch_from_thread(self, items: object) -> None:
        pass


def _lifecycle_sweep(temporal_address: str, settings: Settings) -> dict[str, int]:
    """The scheduled lifecycle sweep, run once now on the dev server by the test's worker."""

    async def run() -> dict[str, int]:
        client = await Client.connect(temporal_address, data_converter=pydantic_data_converter)
        result = await client.execute_workflow(
            LIFECYCLE_SWEEP_WORKFLOW,
            id=f"lifecycle-sweep-test-{time.time_ns()}",
            task_queue=settings.task_queue,
            result_type=LifecycleResult,
        )
        return result.model_dump()

    return asyncio.run(run())


def test_bills_are_paid_by_recorded_payments_and_become_overdue_after_their_due_date(
    client: object,
    org: Org,
    localstripe: str,
    session_factory: sessionmaker[Session],
    settings: Settings,
    temporal_address: str,
) -> None:
    httpx.put(  # organization-wide: production's key changes it
        f"{ten99policy.api_base}/api/v1/organization",
        json={"billing_contact_name": "Ana Finance", "billing_contact_email": "ap@platform.example"},
        auth=(org.production_key, ""),
        timeout=30,
    ).raise_for_status()
    contractor, job = _contractor_and_job(withhold_premium=True)
    quote = _apply(contractor, job, localstripe, card=None)
    (bill,) = _bills(contractor)
    assert (bill["status"], bill["amount_paid"], bill["amount_remaining"]) == (
        "open",
        0,
        quote["premium_due"],
    )
    too_much = _api("POST", f"/bills/{bill['id']}/pay", amount=bill["amount_due"] + 1, reference="wire 1")
    assert too_much.status_code == 400 and too_much.json()["error_code"] == "invalid_input"
    part = _api("POST", f"/bills/{bill['id']}/pay", amount=100, reference="check 1001").json()
    assert (part["status"], part["amount_remaining"]) == ("open", bill["amount_due"] - 100)

    with session_factory() as session:  # a month and a day later
        stored = session.scalar(select(Bill).where(Bill.id == bill["id"]))
        assert stored is not None
        stored.due_date = int(time.time()) - DAY
        session.commit()
    assert _lifecycle_sweep(temporal_address, settings)["overdue_bills"] >= 1
    assert _api("GET", f"/bills/{bill['id']}").json()["status"] == "overdue"
    assert [e for e in _events("bill.overdue") if e["data"]["id"] == bill["id"]]
    sent = eventually(
        lambda: [
            e
            for e in _api("GET", "/emails").json()
            if e["kind"] == "bill_overdue" and e["related"].get("bill") == bill["id"]
        ],
        timeout=30,
    )
    assert sent[0]["recipient"] == "ap@platform.example"
    assert [b["id"] for b in _api("GET", "/bills?status=overdue").json()] == [bill["id"]]

    paid = _api(
        "POST", f"/bills/{bill['id']}/pay", amount=bill["amount_due"] - 100, reference="wire 77"
    ).json()
    assert (paid["status"], paid["amount_remaining"], paid["payment_reference"]) == ("paid", 0, "wire 77")
    assert paid["paid_at"] and [e for e in _events("bill.paid") if e["data"]["id"] == bill["id"]]
    again = _api("POST", f"/bills/{bill['id']}/pay", amount=1, reference="wire 78")
    assert again.status_code == 409 and again.json()["error_code"] == "bill_already_paid"


def test_policies_expire_at_their_expiration_date(
    client: object,
    org: Org,
    session_factory: sessionmaker[Session],
    settings: Settings,
    temporal_address: str,
) -> None:
    contractor, job = _contractor_and_job()
    quote = ten99policy.Quotes.create(contractor=contractor, job=job, coverage_type=["general"])
    policy = ten99policy.Policies.create(quote=quote["id"])
    with session_factory() as session:
        stored = session.scalar(select(Policy).where(Policy.id == policy["id"]))
        assert stored is not None
        stored.expiration_date = int(time.time()) - 60
        session.commit()
    assert _lifecycle_sweep(temporal_address, settings)["expired_policies"] >= 1
    assert ten99policy.Policies.retrieve(policy["id"])["status"] == "expired"
    assert [e for e in _events("policy.expired") if e["data"]["id"] == policy["id"]]


def test_a_backlog_of_expired_policies_is_expired_in_one_sweep(
    client: object, org: Org, session_factory: sessionmaker[Session]
) -> None:
    """More policies past their date than one batch holds (a worker down for a while): every one expires,
    the latest too, not only the first batch."""
    made = []
    for _ in range(3):
        contractor, job = _contractor_and_job()
        quote = ten99policy.Quotes.create(contractor=contractor, job=job, coverage_type=["general"])
        made.append(ten99policy.Policies.create(quote=quote["id"])["id"])
    with session_factory() as session:
        for age, policy_id in enumerate(made):
            stored = session.scalar(select(Policy).where(Policy.id == policy_id))
            assert stored is not None
            stored.expiration_date = int(time.time()) - 60 - age
        session.commit()
        expire_policies(session, int(time.time()), batch=2)
    assert [ten99policy.Policies.retrieve(p)["status"] for p in made] == ["expired"] * 3


def test_a_new_wage_reprices_the_estimate_and_extend_emails_the_contractor(
    client: object, org: Org, session_factory: sessionmaker[Session], settings: Settings, localstripe: str
) -> None:
    """Seed 000: "job details like wage or changes to start and end date can all be managed through the
    API"."""
    contractor, job, quote, _policy, assignment = _card_paid_assignment(
        session_factory, settings, org, localstripe
    )
    eventually(lambda: ten99policy.Assignments.retrieve(assignment["id"]).get("charge_due_at"), timeout=20)
    ten99policy.Jobs.modify(job, wage=400_000)
    live = ten99policy.Assignments.retrieve(assignment["id"])
    assert live["premium"] == premium_cents(400_000, quote["net_rate"]) != assignment["premium"]

    # Bound but not yet charged: new dates re-bind it (the notice starts over; nothing was collected).
    later = assignment["effective_date"] + DAY
    moved = _api("PUT", f"/assignments/{assignment['id']}", effective_date=later)
    assert moved.status_code == 200, moved.text
    assert ten99policy.Assignments.retrieve(assignment["id"])["effective_date"] == later

    quiet = _api("POST", "/assignments/extend", job_id=job, end_date=assignment["end_date"], send_email=False)
    assert quiet.status_code == 200
    longer = assignment["end_date"] - DAY  # the policy ends with the assignment; ask one day less, then more
    assert _api("POST", "/assignments/extend", job_id=job, end_date=longer).status_code == 400
    extended = _api(
        "POST", "/assignments/extend", job_id=job, end_date=assignment["end_date"] + 2 * DAY
    ).json()
    assert extended["end_date"] == assignment["end_date"] + 2 * DAY
    told = [
        e
        for e in _api("GET", "/emails").json()
        if e["kind"] == "coverage_extended" and e["related"].get("assignment") == assignment["id"]
    ]
    assert [e["recipient"] for e in told] == [ten99policy.Contractors.retrieve(contractor)["email"]]


@pytest.mark.parametrize(
    ("number", "summary"),
    [
        ("4242424242424242", "Visa ending 4242"),
        ("5555555555554444", "Mastercard ending 4444"),
        ("378282246310005", "Amex ending 0005"),
        ("6011111111111117", "Discover ending 1117"),
    ],
)
def test_the_seeds_success_cards_complete_an_application(
    client: object,
    org: Org,
    localstripe: str,
    session_factory: sessionmaker[Session],
    number: str,
    summary: str,
) -> None:
    contractor, job = _contractor_and_job()
    _apply(contractor, job, localstripe, card=number)
    (session,) = ten99policy.InsuranceApplicationSessions.list(contractor=contractor)
    assert session["status"] == "APPLICATION_COMPLETE"

    def confirmed() -> list[dict[str, Any]]:
        emails = _api("GET", "/emails").json()
        return [e for e in emails if e["related"].get("application_session") == session["id"]]

    eventually(lambda: [e for e in confirmed() if e["kind"] == "payment_confirmation"], timeout=30)
    assert [e["kind"] for e in confirmed()].count("payment_reminder") == 1  # when the card was held
    with session_factory() as db:
        stored = db.scalar(
            select(ApplicationSession.card_summary).where(ApplicationSession.id == session["id"])
        )
    assert stored == summary


def test_the_insufficient_funds_card_is_declined_with_the_banks_reason(
    client: object, org: Org, localstripe: str
) -> None:
    contractor, job = _contractor_and_job()
    quote = ten99policy.Quotes.create(contractor=contractor, job=job, coverage_type=["workers-comp"])
    session = ten99policy.InsuranceApplicationSessions.create(
        quote=quote["id"], success_url=SUCCESS, cancel_url=CANCEL
    )
    with httpx.Client(base_url=str(ten99policy.api_base), timeout=60) as browser:
        page = _fill_application(browser, session["url"], "4546381219393284", localstripe)
    assert "insufficient funds" in page.lower()


def _mail_about(smtp_sink: SmtpSink, kind: str, recipient: str) -> list[str]:
    """The plain text of the emails of a kind sent to the contractor."""
    return [
        m.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        for m in smtp_sink.messages
        if m["X-Gigcover-Kind"] == kind and m["To"] == recipient  # type: ignore[index]
    ]


def test_a_declined_increase_stays_owed_until_a_new_card_pays_it(
    client: object,
    org: Org,
    localstripe: str,
    smtp_sink: SmtpSink,
    session_factory: sessionmaker[Session],
    settings: Settings,
    api_url: str,
) -> None:
    """Issue 22: after the application's capture, final pay raises the premium and the card on file is
    declined for the difference. The invoice stays unpaid, the platform gets ``invoice.charge_card_failed``,
    the contractor an email that links to their portal (coverage stays active), the assignment shows what
    was really collected; a new card saved in the portal is charged the difference at once."""
    email = unique_email("declined.increase")
    entity = ten99policy.Entities.create(**entity_fields())["id"]
    contractor = ten99policy.Contractors.create(**contractor_fields(email))["id"]
    job = ten99policy.Jobs.create(**job_fields(entity, wage=500_000))["id"]
    quote = _apply(contractor, job, localstripe)
    assignment = _assignment_of(contractor)
    assert assignment["premium_collected"] == quote["premium_due"]
    # The contractor's card on file is now one the bank declines when charged (insufficient funds). (Their
    # card links open nothing while the assignment is paid in full: the card is put on file directly.)
    save_card(session_factory, settings, org, contractor, "4546381219393284", localstripe)

    to = ten99policy.Contractors.retrieve(contractor)["email"]  # as the application left it
    mailed_before = len(_mail_about(smtp_sink, "assignment_charge_failure", to))
    higher = ten99policy.Invoices.create(contractor=contractor, job=job, gross_pay=800_000, **SEED_INVOICE)
    debit = higher["premium_due"] - quote["premium_due"]
    assert debit > 0
    failed = eventually(
        lambda: [e for e in _events("invoice.charge_card_failed") if e["data"].get("id") == assignment["id"]],
        timeout=30,
    )
    assert "insufficient funds" in failed[0]["data"]["failure_message"]
    [text] = eventually(
        lambda: _mail_about(smtp_sink, "assignment_charge_failure", to)[mailed_before:], timeout=30
    )
    assert "insufficient funds" in text and "Your coverage stays active" in text
    assert f"${debit / 100:,.2f}" in text
    assert f"{settings.public_base_url}/my" in text and "/cards/" not in text  # the card is changed there
    assert not _emails("premium_increase_contractor", assignment["id"])  # no "we will charge" promise
    live = ten99policy.Assignments.retrieve(assignment["id"])
    assert (live["status"], live["premium"], live["premium_collected"]) == (
        "active",
        higher["premium_due"],
        quote["premium_due"],
    )
    unpaid = ten99policy.Invoices.retrieve(higher["id"])
    assert (unpaid["status"], unpaid.get("paid_at")) == ("open", None)
    assert ("succeeded", debit) not in intents_of(localstripe, assignment["id"], key="assignment")
    # Finance sees, beside the assignment, the charge that did not happen and what it asked for.
    with signed_in(api_url, add_member(session_factory, org.id, Role.FINANCE)) as dashboard:
        shown = dashboard.get(f"/dashboard/assignments/{assignment['id']}").text
    assert f'declined charge <span class="hint">· ${debit / 100:,.2f} was not collected' in shown, shown

    replace_card_in_portal(
        api_url, smtp_sink, to, contractor, card(localstripe, "4242424242424242"), owed=f"${debit / 100:,.2f}"
    )
    eventually(
        lambda: ("succeeded", debit) in intents_of(localstripe, assignment["id"], key="assignment"),
        timeout=30,
    )
    eventually(lambda: ten99policy.Invoices.retrieve(higher["id"])["status"] == "paid", timeout=30)
    live = ten99policy.Assignments.retrieve(assignment["id"])
    assert (live["status"], live["premium"], live["premium_collected"]) == (
        "active",
        higher["premium_due"],
        higher["premium_due"],
    )
    assert [s for s, amount in intents_of(localstripe, assignment["id"], key="assignment")].count(
        "succeeded"
    ) == 1  # the difference was charged once, on the new card
    await_history(f"assignment-{assignment['id']}", "engagement_declined_increase_then_recovered")


def test_an_assignment_whose_premium_is_collected_keeps_its_terms(client: object, localstripe: str) -> None:
    """``PUT /assignments/{id}`` with new terms after the premium was collected: a clear 409, nothing
    changes (cancelling refunds it; a new assignment takes the new terms)."""
    contractor, job = _contractor_and_job()
    _apply(contractor, job, localstripe)
    assignment = _assignment_of(contractor)
    other, _ = _contractor_and_job()
    refused = _api("PUT", f"/assignments/{assignment['id']}", contractor=other)
    assert refused.status_code == 409, refused.text
    assert "premium is collected" in refused.json()["message"]
    assert ten99policy.Assignments.retrieve(assignment["id"])["contractor"] == contractor
