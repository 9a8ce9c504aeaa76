"""The AssignmentWorkflow with the real 24 hours (skipped by Temporal's time-skipping test server), the
real activities, the database and localstripe."""

import asyncio
import time
from datetime import timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from common.ids import new_document_token, new_id, new_session_id
from common.settings import Settings
from contracts.assignment import AssignmentInput, AssignmentState, InvoiceAdjustment, NewCard
from db.models import ApplicationSession, Assignment, EmailMessage
from integrations.stripe_gateway import StripeGateway
from outbox.dispatch import assignment_input
from tests.histories import keep_history
from tests.support import (
    Org,
    card,
    contractor_fields,
    entity_fields,
    intents_of,
    job_fields,
    refunded_to,
    unique_email,
)
from workflows.assignment import AssignmentWorkflow

HOUR = 3600


def save_card(
    factory: sessionmaker[Session],
    settings: Settings,
    org: Org,
    contractor_id: str,
    number: str,
    localstripe: str,
) -> None:
    """A card on file, as a completed application leaves it."""
    gateway = StripeGateway(settings)
    customer = gateway.create_customer(
        "jane.doe@example.com", "Jane Doe", {}, f"customer:{new_id('request')}"
    )
    saved = gateway.save_card(customer, card(localstripe, number))
    now = int(time.time())
    with factory() as session:
        session.add(
            ApplicationSession(
                id=new_session_id(),
                organization_id=org.id,
                environment="sandbox",
                created=now,
                token=new_document_token(),
                contractor_id=contractor_id,
                is_general_opt_in=False,
                work_state="CA",
                coverage_type=["general"],
                success_url="https://x.example",
                cancel_url="https://x.example",
                status="APPLICATION_COMPLETE",
                step="application_complete",
                premium=0,
                withhold_premium=False,
                expires_at=now,
                dispatched=True,
                answers={},
                signature={},
                stripe_customer_id=customer,
                payment_method_id=saved.payment_method_id,
                card_summary=saved.summary,
            )
        )
        session.commit()


def make_assignment(
    api_url: str,
    org: Org,
    factory: sessionmaker[Session],
    settings: Settings,
    localstripe: str,
    *,
    remit: bool = False,
    number: str | None = "4242424242424242",
) -> AssignmentInput:
    """An assignment reusing an active policy, stored as the API stores it (its workflow is the test's)."""
    with httpx.Client(base_url=f"{api_url}/api/v1", auth=(org.sandbox_key, ""), timeout=30) as http:
        http.put(
            "/organization",
            json={"billing_contact_name": "Pat Payables", "billing_contact_email": "ap@platform.example"},
            auth=(org.production_key, ""),  # organization-wide: production's to change
        )
        entity = http.post("/entities", json=entity_fields()).json()["id"]
        fields = contractor_fields(unique_email(), withhold_premium=remit or None)
        contractor = http.post("/contractors", json=fields).json()["id"]
        job = http.post("/jobs", json=job_fields(entity)).json()["id"]
        quote = http.post(
            "/quotes", json={"contractor": contractor, "job": job, "coverage_type": ["workers-comp"]}
        ).json()
        policy = http.post("/policies", json={"quote": quote["id"]}).json()
    if number:
        save_card(factory, settings, org, contractor, number, localstripe)
    now = int(time.time())
    row = Assignment(
        id=new_id("assignment"),
        organization_id=org.id,
        environment="sandbox",
        created=now,
        contractor_id=contractor,
        job_id=job,
        policy_id=policy["id"],
        coverage_type=["workers-comp"],
        effective_date=quote["effective_date"],
        end_date=quote["end_date"],
        bind=True,
        coverage_path="existing_policy",
        eligible_result=True,
        eligible_message="reuse",
        payer="remit" if remit else "card",
        net_rate=quote["net_rate"],
        premium=quote["premium_due"],
        status="pending",
        charged=0,
        certificates={},
        cancelled=False,
        dispatched=True,
    )
    with factory() as session:
        session.add(row)
        session.commit()
        return assignment_input(row, settings)


async def start(
    env: WorkflowEnvironment, a: AssignmentInput
) -> WorkflowHandle[AssignmentWorkflow, AssignmentState]:
    return await env.client.start_workflow(
        AssignmentWorkflow.run, a, id=f"assignment-{a.assignment_id}", task_queue="gigcover"
    )


async def settled(check: object, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not check() and time.monotonic() < deadline:  # type: ignore[operator]
        await asyncio.sleep(0.1)
    assert check(), "the expected state never came"  # type: ignore[operator]


def emails(factory: sessionmaker[Session], assignment_id: str) -> list[str]:
    with factory() as session:
        rows = session.scalars(select(EmailMessage).order_by(EmailMessage.seq))
        return [m.kind for m in rows if (m.related or {}).get("assignment") == assignment_id]


def status_of(factory: sessionmaker[Session], assignment_id: str) -> str:
    with factory() as session:
        row = session.scalar(select(Assignment).where(Assignment.id == assignment_id))
        return row.status if row else ""


def charges(localstripe: str, a: AssignmentInput) -> list[tuple[str, int]]:
    return intents_of(localstripe, a.assignment_id, key="assignment")


async def test_the_card_is_charged_at_24_hours_and_not_before(
    skipping: WorkflowEnvironment,
    api_url: str,
    org: Org,
    session_factory: sessionmaker[Session],
    settings: Settings,
    localstripe: str,
) -> None:
    a = await asyncio.to_thread(make_assignment, api_url, org, session_factory, settings, localstripe)
    handle = await start(skipping, a)
    await settled(lambda: "assignment_charge_reminder" in emails(session_factory, a.assignment_id))
    state = await handle.query(AssignmentWorkflow.state)
    assert state.status == "pending" and state.charge_due_at
    await skipping.sleep(timedelta(hours=23, minutes=59))
    assert charges(localstripe, a) == []
    await skipping.sleep(timedelta(minutes=2))
    await settled(lambda: charges(localstripe, a) == [("succeeded", a.premium)])
    await settled(lambda: "payment_confirmation" in emails(session_factory, a.assignment_id))
    state = await handle.query(AssignmentWorkflow.state)
    assert (state.status, state.collected) == ("active", a.premium)
    events = httpx.get(
        f"{api_url}/api/v1/events", params={"type": "assignment.active"}, auth=(org.sandbox_key, "")
    ).json()
    assert events[0]["data"]["id"] == a.assignment_id and events[0]["data"]["certificates"]["wc_coi_pdf_url"]
    await handle.terminate("test over")


async def test_an_adjustment_at_hour_23_restarts_the_window(
    skipping: WorkflowEnvironment,
    api_url: str,
    org: Org,
    session_factory: sessionmaker[Session],
    settings: Settings,
    localstripe: str,
) -> None:
    a = await asyncio.to_thread(make_assignment, api_url, org, session_factory, settings, localstripe)
    handle = await start(skipping, a)
    await skipping.sleep(timedelta(hours=23))
    result = await handle.execute_update(
        AssignmentWorkflow.adjust, InvoiceAdjustment(invoice_id="in_1", premium=4000)
    )
    assert result.before_charge and result.premium == 4000
    await skipping.sleep(timedelta(hours=2))  # the old window has passed: nothing is charged
    assert charges(localstripe, a) == []
    await skipping.sleep(timedelta(hours=21, minutes=30))
    assert charges(localstripe, a) == []
    await skipping.sleep(timedelta(hours=1))  # 24 hours after the adjustment
    await settled(lambda: charges(localstripe, a) == [("succeeded", 4000)])
    await settled(lambda: emails(session_factory, a.assignment_id).count("assignment_charge_reminder") == 2)
    await handle.terminate("test over")
    await keep_history(handle, "assignment_adjusted_before_charge")


async def test_increase_and_decrease_after_the_charge(
    skipping: WorkflowEnvironment,
    api_url: str,
    org: Org,
    session_factory: sessionmaker[Session],
    settings: Settings,
    localstripe: str,
) -> None:
    a = await asyncio.to_thread(make_assignment, api_url, org, session_factory, settings, localstripe)
    handle = await start(skipping, a)
    await skipping.sleep(timedelta(hours=25))
    await settled(lambda: charges(localstripe, a) == [("succeeded", a.premium)])
    up = await handle.execute_update(
        AssignmentWorkflow.adjust, InvoiceAdjustment(invoice_id="in_up", premium=a.premium + 500)
    )
    assert not up.before_charge and up.collected == a.premium + 500
    assert charges(localstripe, a) == [("succeeded", a.premium), ("succeeded", 500)]
    down = await handle.execute_update(
        AssignmentWorkflow.adjust, InvoiceAdjustment(invoice_id="in_down", premium=a.premium - 300)
    )
    assert down.collected == a.premium - 300
    mine = refunded_to(localstripe, a.assignment_id)
    assert mine == 800  # the 500 increase and 300 of the original
    again = await handle.execute_update(
        AssignmentWorkflow.adjust, InvoiceAdjustment(invoice_id="in_down", premium=1)
    )
    assert again.collected == a.premium - 300  # the same invoice twice changes nothing
    kinds = emails(session_factory, a.assignment_id)
    for kind in (
        "premium_increase_contractor",
        "premium_increase_organization",
        "premium_decrease_contractor",
        "premium_decrease_organization",
    ):
        assert kind in kinds
    await handle.terminate("test over")
    await keep_history(handle, "assignment_adjusted_after_charge")


async def test_remit_bills_at_once(
    skipping: WorkflowEnvironment,
    api_url: str,
    org: Org,
    session_factory: sessionmaker[Session],
    settings: Settings,
    localstripe: str,
) -> None:
    a = await asyncio.to_thread(
        make_assignment, api_url, org, session_factory, settings, localstripe, remit=True, number=None
    )
    handle = await start(skipping, a)
    await settled(lambda: status_of(session_factory, a.assignment_id) == "active")
    await handle.execute_update(
        AssignmentWorkflow.adjust, InvoiceAdjustment(invoice_id="in_r", premium=a.premium + 1000)
    )
    bills = [
        b
        for b in httpx.get(
            f"{api_url}/api/v1/bills", params={"limit": 100}, auth=(org.sandbox_key, "")
        ).json()
        if b["assignment"] == a.assignment_id
    ]
    assert sorted(b["amount_due"] for b in bills) == sorted([a.premium, 1000])
    assert charges(localstripe, a) == []
    assert "premium_increase_organization" in emails(session_factory, a.assignment_id)
    await handle.terminate("test over")
    await keep_history(handle, "assignment_remit")


async def test_a_declined_charge_recovers_when_a_new_card_is_saved(
    skipping: WorkflowEnvironment,
    api_url: str,
    org: Org,
    session_factory: sessionmaker[Session],
    settings: Settings,
    localstripe: str,
) -> None:
    a = await asyncio.to_thread(
        make_assignment, api_url, org, session_factory, settings, localstripe, number="4546381219393284"
    )
    handle = await start(skipping, a)
    await skipping.sleep(timedelta(hours=25))
    await settled(lambda: "assignment_charge_failure" in emails(session_factory, a.assignment_id))
    state = await handle.query(AssignmentWorkflow.state)
    assert state.status == "charge_failed" and "insufficient funds" in (state.last_failure or "")
    failed = httpx.get(
        f"{api_url}/api/v1/events", params={"type": "invoice.charge_card_failed"}, auth=(org.sandbox_key, "")
    ).json()
    assert failed[0]["data"]["id"] == a.assignment_id
    await asyncio.to_thread(
        save_card, session_factory, settings, org, a.contractor_id, "4242424242424242", localstripe
    )
    await handle.signal(AssignmentWorkflow.card_updated, NewCard(payment_method_id="pm_new"))
    await settled(lambda: ("succeeded", a.premium) in charges(localstripe, a))
    assert (await handle.query(AssignmentWorkflow.state)).status == "active"
    await handle.terminate("test over")
    await keep_history(handle, "assignment_declined_then_recovered")


async def test_cancelled_after_the_charge_is_refunded(
    skipping: WorkflowEnvironment,
    api_url: str,
    org: Org,
    session_factory: sessionmaker[Session],
    settings: Settings,
    localstripe: str,
) -> None:
    a = await asyncio.to_thread(make_assignment, api_url, org, session_factory, settings, localstripe)
    handle = await start(skipping, a)
    await skipping.sleep(timedelta(hours=25))
    await settled(lambda: charges(localstripe, a) == [("succeeded", a.premium)])
    state = await handle.execute_update(AssignmentWorkflow.cancel, "client_request")
    assert (state.status, state.collected) == ("cancelled", 0)
    assert (await handle.result()).status == "cancelled"
    await keep_history(handle, "assignment_cancelled_after_charge")


async def test_a_long_history_continues_as_new_with_its_money_state(
    skipping: WorkflowEnvironment,
    api_url: str,
    org: Org,
    session_factory: sessionmaker[Session],
    settings: Settings,
    localstripe: str,
) -> None:
    a = await asyncio.to_thread(make_assignment, api_url, org, session_factory, settings, localstripe)
    handle = await start(skipping, a.model_copy(update={"max_history_events": 60}))
    await skipping.sleep(timedelta(hours=25))
    await settled(lambda: charges(localstripe, a) == [("succeeded", a.premium)])
    first_run = (await handle.describe()).run_id
    premium = a.premium
    for number in range(6):  # each adjustment adds events; the history passes 60 and the run continues as new
        premium += 100
        await handle.execute_update(
            AssignmentWorkflow.adjust, InvoiceAdjustment(invoice_id=f"in_grow{number}", premium=premium)
        )
    latest = skipping.client.get_workflow_handle(f"assignment-{a.assignment_id}")
    description = await latest.describe()
    assert description.run_id != first_run
    state = await latest.query(AssignmentWorkflow.state)
    assert (state.status, state.collected, state.premium) == ("active", premium, premium)
    down = await latest.execute_update(
        AssignmentWorkflow.adjust, InvoiceAdjustment(invoice_id="in_after", premium=1000)
    )
    assert down.collected == 1000  # refunds still spread over the payments made before the new run
    await latest.terminate("test over")


async def test_concurrent_adjustments_leave_consistent_amounts(
    skipping: WorkflowEnvironment,
    api_url: str,
    org: Org,
    session_factory: sessionmaker[Session],
    settings: Settings,
    localstripe: str,
) -> None:
    a = await asyncio.to_thread(make_assignment, api_url, org, session_factory, settings, localstripe)
    handle = await start(skipping, a)
    await skipping.sleep(timedelta(hours=25))
    await settled(lambda: charges(localstripe, a) == [("succeeded", a.premium)])
    premiums = [a.premium + delta for delta in (700, -400, 1200, 0, -900, 300, 50, -50)]
    results = await asyncio.gather(
        *(
            handle.execute_update(
                AssignmentWorkflow.adjust, InvoiceAdjustment(invoice_id=f"in_c{i}", premium=p)
            )
            for i, p in enumerate(premiums)
        )
    )
    state = await handle.query(AssignmentWorkflow.state)
    assert state.collected == state.premium  # whatever order they ran in, the money matches the last one
    assert state.premium in premiums and {r.premium for r in results} <= set(premiums)
    charged = sum(amount for status, amount in charges(localstripe, a) if status == "succeeded")
    returned = refunded_to(localstripe, a.assignment_id)
    assert charged - returned == state.collected
    await handle.terminate("test over")


async def test_a_declined_increase_is_owed_until_a_new_amount_or_a_cancellation_settles_it(
    skipping: WorkflowEnvironment,
    api_url: str,
    org: Org,
    session_factory: sessionmaker[Session],
    settings: Settings,
    localstripe: str,
) -> None:
    """Issue 22: after the charge, an increase the card declines stays owed (the workflow's state says so);
    a lower final pay then settles it by refund without charging, and a cancellation refunds what was
    collected, after which a new card charges nothing."""
    a = await asyncio.to_thread(make_assignment, api_url, org, session_factory, settings, localstripe)
    handle = await start(skipping, a)
    await skipping.sleep(timedelta(hours=25))
    await settled(lambda: charges(localstripe, a) == [("succeeded", a.premium)])
    await asyncio.to_thread(
        save_card, session_factory, settings, org, a.contractor_id, "4546381219393284", localstripe
    )
    raised = await handle.execute_update(
        AssignmentWorkflow.adjust, InvoiceAdjustment(invoice_id="in_up", premium=a.premium + 1000)
    )
    assert (raised.premium, raised.collected) == (a.premium + 1000, a.premium)  # owed, not collected
    state = await handle.query(AssignmentWorkflow.state)
    assert state.status == "active" and "insufficient funds" in (state.last_failure or "")
    assert "assignment_charge_failure" in emails(session_factory, a.assignment_id)
    lower = await handle.execute_update(
        AssignmentWorkflow.adjust, InvoiceAdjustment(invoice_id="in_down", premium=a.premium - 500)
    )
    assert (lower.premium, lower.collected) == (a.premium - 500, a.premium - 500)
    assert refunded_to(localstripe, a.assignment_id) == 500
    cancelled = await handle.execute_update(AssignmentWorkflow.cancel, "client_request")
    assert (cancelled.status, cancelled.collected) == ("cancelled", 0)
    assert refunded_to(localstripe, a.assignment_id) == a.premium
    assert [s for s, _ in charges(localstripe, a)].count("succeeded") == 1  # the first charge only
