"""Money a step could not move stays shown as owed (issue 22, "every other place where an activity's 'not ok'
outcome could be read as success"), against the real worker, localstripe, the official client and the
dashboard in Chromium or over HTTP:

- a premium increase the contractor's card declined: the dashboard's overview lists the assignment among
  what needs attention, with the amount still owed;
- a refund the card processor takes and then cannot complete (Stripe's test card 4000000000005126,
  "refund fails asynchronously"): not recorded as refunded. The payments row says ``refund_failed``, the
  assignment keeps showing what was really collected, the platform gets ``assignment.refund_failed``, the
  contractor no email promising the refund, and the overview lists it as owed back."""

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import ten99policy
from playwright.sync_api import Browser, expect
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from common.settings import Settings
from db.models import Payment
from domain.roles import Role
from notifications.render import money
from tests.accessibility import assert_accessible
from tests.dashboard_support import add_member, sign_in, signed_in
from tests.histories import keep_history
from tests.support import Org, eventually, raw_stripe
from tests.test_assignment_workflow import save_card
from tests.test_engagements import (
    SEED_INVOICE,
    _apply,
    _assignment_of,
    _contractor_and_job,
    _emails,
    _events,
)

pytestmark = pytest.mark.usefixtures("worker")
REFUND_FAILS = "4000000000005126"  # Stripe's test card: the charge succeeds, its refunds fail


def _record_history(temporal_address: str, workflow_id: str, scenario: str) -> None:
    """Record the workflow's history (GIGCOVER_RECORD_HISTORIES=1), on a thread of its own: this module's
    Chromium keeps an event loop running on the test's thread."""

    async def record() -> None:
        client = await Client.connect(temporal_address, data_converter=pydantic_data_converter)
        await keep_history(client.get_workflow_handle(workflow_id), scenario)

    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, record()).result()


def _event_about(kind: str, assignment_id: str) -> list[dict[str, Any]]:
    return [e for e in _events(kind) if e["data"].get("id") == assignment_id]


def _refunds_of(localstripe: str, assignment_id: str) -> list[tuple[str, int]]:
    refunds = raw_stripe(localstripe).v1.refunds.list(params={"limit": 100})  # type: ignore[attr-defined]
    return [
        (r.status, r.amount)
        for r in refunds.auto_paging_iter()
        if (r.to_dict().get("metadata") or {}).get("assignment") == assignment_id
    ]


def test_a_declined_increase_is_listed_on_the_overview_as_still_owed(
    client: object,
    browser: Browser,
    api_url: str,
    org: Org,
    localstripe: str,
    session_factory: sessionmaker[Session],
    settings: Settings,
) -> None:
    """Final pay raises the premium after the application's capture and the card on file is declined for
    the difference: the overview's "needs attention" lists the assignment with what is still owed."""
    contractor, job = _contractor_and_job(wage=500_000)
    quote = _apply(contractor, job, localstripe)
    assignment = _assignment_of(contractor)
    save_card(session_factory, settings, org, contractor, "4546381219393284", localstripe)  # declines
    higher = ten99policy.Invoices.create(contractor=contractor, job=job, gross_pay=800_000, **SEED_INVOICE)
    owed = higher["premium_due"] - quote["premium_due"]
    eventually(lambda: _event_about("invoice.charge_card_failed", assignment["id"]), timeout=30)

    page = browser.new_page()
    try:
        sign_in(page, api_url, add_member(session_factory, org.id, Role.VIEWER))
        title = re.compile("Premium increases the contractor's card declined")
        section = page.get_by_role("region", name=title)
        expect(section).to_be_visible()
        item = section.get_by_role("listitem").filter(has_text=assignment["id"])
        expect(item).to_contain_text(f"{money(owed)} still owed of {money(higher['premium_due'])}")
        expect(item).to_contain_text("the card was declined")
        assert_accessible(page)
        item.get_by_role("link", name=assignment["id"]).click()
        page.wait_for_url(f"**/dashboard/assignments/{assignment['id']}")
    finally:
        page.close()


def test_a_refund_the_processor_cannot_complete_stays_owed_back(
    client: object,
    api_url: str,
    org: Org,
    localstripe: str,
    session_factory: sessionmaker[Session],
    temporal_address: str,
) -> None:
    """Seed 001's final pay lowers the premium after the application's capture on a card whose refunds
    fail: nothing is recorded as refunded, and everyone is told what is true."""
    contractor, job = _contractor_and_job(wage=500_000)
    quote = _apply(contractor, job, localstripe, card=REFUND_FAILS)
    assignment = _assignment_of(contractor)
    lower = ten99policy.Invoices.create(contractor=contractor, job=job, gross_pay=200_000, **SEED_INVOICE)
    back = quote["premium_due"] - lower["premium_due"]
    assert back > 0

    [failed] = eventually(lambda: _event_about("assignment.refund_failed", assignment["id"]), timeout=60)
    assert failed["data"]["refund_amount"] == back
    assert "could not complete" in failed["data"]["failure_message"]
    assert _refunds_of(localstripe, assignment["id"]) == [("failed", back)]  # asked for once, and it failed
    with session_factory() as session:
        rows = session.scalars(select(Payment).where(Payment.amount == -back)).all()
        mine = [r.status for r in rows if r.idempotency_key.startswith(f"assignment-{assignment['id']}:")]
        assert mine == ["refund_failed"]
    live = ten99policy.Assignments.retrieve(assignment["id"])
    assert (live["status"], live["premium"], live["premium_collected"]) == (
        "active",
        lower["premium_due"],
        quote["premium_due"],  # what was collected and not given back
    )
    assert not _emails("premium_decrease_contractor", assignment["id"])  # no promise of a refund

    operator = add_member(session_factory, org.id, Role.OPERATOR)
    with signed_in(api_url, operator) as dashboard:
        overview = dashboard.get("/dashboard").text
        section = overview.split("Refunds the card processor could not complete", 1)[1].split("</section>")[0]
        assert assignment["id"] in section and f"{money(back)} to give back" in section
        shown = dashboard.get(f"/dashboard/assignments/{assignment['id']}").text
        assert "failed refund" in shown
    _record_history(temporal_address, f"assignment-{assignment['id']}", "engagement_refund_failed_owed_back")
