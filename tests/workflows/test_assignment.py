"""The AssignmentWorkflow alone: its timers skipped, its activities fakes. What it asks for (charges, refunds,
bills, emails, the status it records) is what these check; the real activities have their own tests."""

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from contracts.assignment import (
    AssignmentInput,
    AssignmentState,
    Coverage,
    InvoiceAdjustment,
    NewCard,
)
from domain.assignment_coverage import CoveragePath
from tests.workflows.fakes import DECLINED, FakeActivities, eventually, worker
from workflows.assignment import AssignmentWorkflow

PREMIUM = 2500
Handle = WorkflowHandle[AssignmentWorkflow, AssignmentState]


@pytest.fixture
async def fakes(time_skipping: WorkflowEnvironment) -> AsyncIterator[FakeActivities]:
    fakes = FakeActivities()
    async with worker(time_skipping, fakes):
        yield fakes


_numbers = iter(range(1, 10_000))


async def start(env: WorkflowEnvironment, fakes: FakeActivities, **changes: object) -> Handle:
    now = int((await env.get_current_time()).timestamp())
    a = AssignmentInput(
        assignment_id=f"an_unit{next(_numbers)}",
        organization_id="org_unit",
        environment="sandbox",
        contractor_id="cn_unit",
        coverage_path=CoveragePath.EXISTING_POLICY,
        payer="card",
        premium=PREMIUM,
        notice_seconds=24 * 3600,
        ends_at=now + 90 * 86_400,
    ).model_copy(update=changes)
    return await env.client.start_workflow(
        AssignmentWorkflow.run, a, id=f"assignment-{a.assignment_id}", task_queue=fakes.task_queue
    )


async def status(handle: Handle) -> str:
    return (await handle.query(AssignmentWorkflow.state)).status


async def charged(env: WorkflowEnvironment, fakes: FakeActivities, handle: Handle) -> None:
    """Past the notice window: the premium is charged and the assignment active."""
    await env.sleep(timedelta(hours=25))
    await eventually(lambda: fakes.charged() == [PREMIUM])
    state = await handle.query(AssignmentWorkflow.state)
    assert (state.status, state.collected) == ("active", PREMIUM)


async def test_the_card_is_charged_after_the_notice_and_not_before(
    time_skipping: WorkflowEnvironment, fakes: FakeActivities
) -> None:
    handle = await start(time_skipping, fakes)
    await eventually(lambda: "assignment_charge_reminder" in fakes.emails())
    state = await handle.query(AssignmentWorkflow.state)
    started = int((await handle.describe()).start_time.timestamp())  # type: ignore[union-attr]
    assert state.status == "pending" and state.charge_due_at == started + 24 * 3600
    assert fakes.of("bind_assignment_coverage") == [handle.id.removeprefix("assignment-")]
    await time_skipping.sleep(timedelta(hours=23, minutes=59))
    assert fakes.charged() == []
    await time_skipping.sleep(timedelta(minutes=2))
    await eventually(lambda: "payment_confirmation" in fakes.emails())
    assert fakes.charged() == [PREMIUM]
    assert fakes.events() == ["assignment.active"]
    assert [p.status for p in fakes.of("record_assignment_progress")] == ["active"]
    state = await handle.query(AssignmentWorkflow.state)
    assert (state.status, state.collected, state.charge_due_at) == ("active", PREMIUM, None)


async def test_a_declined_charge_is_charged_again_at_once_on_a_new_card(
    time_skipping: WorkflowEnvironment, fakes: FakeActivities
) -> None:
    fakes.declines = 1
    handle = await start(time_skipping, fakes)
    await time_skipping.sleep(timedelta(hours=25))
    await eventually(lambda: "assignment_charge_failure" in fakes.emails())
    await eventually(lambda: "invoice.charge_card_failed" in fakes.events())
    state = await handle.query(AssignmentWorkflow.state)
    assert (state.status, state.last_failure, state.collected) == ("charge_failed", DECLINED, 0)
    await handle.signal(AssignmentWorkflow.card_updated, NewCard(payment_method_id="pm_new"))
    await eventually(lambda: "payment_confirmation" in fakes.emails())
    assert await status(handle) == "active"
    keys = [c.idempotency_key for c in fakes.of("charge_card")]
    assert [k.rsplit(":", 2)[1:] for k in keys] == [["r0", "c0"], ["r0", "c1"]]  # one key per card
    assert fakes.emails().count("assignment_charge_reminder") == 1  # no new notice for a new card


async def test_an_adjustment_before_the_charge_starts_the_notice_over(
    time_skipping: WorkflowEnvironment, fakes: FakeActivities
) -> None:
    handle = await start(time_skipping, fakes)
    await time_skipping.sleep(timedelta(hours=23))
    result = await handle.execute_update(
        AssignmentWorkflow.adjust, InvoiceAdjustment(invoice_id="in_1", premium=4000)
    )
    assert (result.before_charge, result.premium, result.collected) == (True, 4000, 0)
    await time_skipping.sleep(timedelta(hours=2))  # the first window has passed: nothing is charged
    assert fakes.charged() == []
    await time_skipping.sleep(timedelta(hours=21, minutes=30))
    assert fakes.charged() == []
    await time_skipping.sleep(timedelta(hours=1))  # 24 hours after the adjustment
    await eventually(lambda: fakes.charged() == [4000])
    reminders = [e for e in fakes.of("send_assignment_email") if e.kind == "assignment_charge_reminder"]
    assert [r.amount for r in reminders] == [PREMIUM, 4000]


async def test_adjustments_after_the_charge_charge_or_refund_the_difference(
    time_skipping: WorkflowEnvironment, fakes: FakeActivities
) -> None:
    handle = await start(time_skipping, fakes)
    await charged(time_skipping, fakes, handle)
    up = await handle.execute_update(
        AssignmentWorkflow.adjust, InvoiceAdjustment(invoice_id="in_up", premium=PREMIUM + 500)
    )
    assert (up.before_charge, up.collected) == (False, PREMIUM + 500)
    assert fakes.charged() == [PREMIUM, 500]
    down = await handle.execute_update(
        AssignmentWorkflow.adjust, InvoiceAdjustment(invoice_id="in_down", premium=PREMIUM - 300)
    )
    assert down.collected == PREMIUM - 300
    assert sum(r.amount for r in fakes.of("refund_card")) == 800  # the 500 increase and 300 of the first
    again = await handle.execute_update(
        AssignmentWorkflow.adjust, InvoiceAdjustment(invoice_id="in_down", premium=1)
    )
    assert again.collected == PREMIUM - 300  # the same invoice again changes nothing
    assert [e for e in fakes.emails() if e.startswith("premium_")] == [
        "premium_increase_contractor",
        "premium_increase_organization",
        "premium_decrease_contractor",
        "premium_decrease_organization",
    ]
    progress = fakes.of("record_assignment_progress")
    assert [(p.premium, p.collected, p.paid_invoice_id) for p in progress[-2:]] == [
        (PREMIUM + 500, PREMIUM + 500, "in_up"),
        (PREMIUM - 300, PREMIUM - 300, "in_down"),
    ]


async def test_a_declined_increase_stays_owed_until_a_new_card_pays_it(
    time_skipping: WorkflowEnvironment, fakes: FakeActivities
) -> None:
    handle = await start(time_skipping, fakes)
    await charged(time_skipping, fakes, handle)
    fakes.declines = 1
    raised = await handle.execute_update(
        AssignmentWorkflow.adjust, InvoiceAdjustment(invoice_id="in_up", premium=PREMIUM + 1000)
    )
    assert (raised.premium, raised.collected) == (PREMIUM + 1000, PREMIUM)
    state = await handle.query(AssignmentWorkflow.state)
    assert (state.status, state.last_failure) == ("active", DECLINED)
    failure = [e for e in fakes.of("send_assignment_email") if e.kind == "assignment_charge_failure"]
    assert [(f.amount, f.coverage_active) for f in failure] == [(1000, True)]
    assert "invoice.charge_card_failed" in fakes.events()
    await handle.signal(AssignmentWorkflow.card_updated, NewCard(payment_method_id="pm_new"))
    await eventually(lambda: fakes.charged() == [PREMIUM, 1000, 1000])
    await eventually(lambda: fakes.emails().count("payment_confirmation") == 2)
    state = await handle.query(AssignmentWorkflow.state)
    assert (state.collected, state.last_failure) == (PREMIUM + 1000, None)


async def test_cancelled_after_the_charge_refunds_everything_and_ends(
    time_skipping: WorkflowEnvironment, fakes: FakeActivities
) -> None:
    handle = await start(time_skipping, fakes)
    await charged(time_skipping, fakes, handle)
    state = await handle.execute_update(AssignmentWorkflow.cancel, "client_request")
    assert (state.status, state.collected) == ("cancelled", 0)
    assert [r.amount for r in fakes.of("refund_card")] == [PREMIUM]
    result = await handle.result()
    assert (result.status, result.collected, result.premium) == ("cancelled", 0, 0)
    assert fakes.events()[-1] == "assignment.cancelled"
    assert fakes.of("record_assignment_progress")[-1].announce.extra == {  # type: ignore[union-attr]
        "cancellation_reason": "client_request"
    }
    assert not [e for e in fakes.emails() if e.startswith("premium_")]  # a cancellation is no price change


async def test_cancelled_in_the_notice_window_charges_nothing(
    time_skipping: WorkflowEnvironment, fakes: FakeActivities
) -> None:
    handle = await start(time_skipping, fakes)
    await eventually(lambda: "assignment_charge_reminder" in fakes.emails())
    state = await handle.execute_update(AssignmentWorkflow.cancel, "client_request")
    assert (state.status, state.collected) == ("cancelled", 0)
    assert (await handle.result()).status == "cancelled"
    assert fakes.charged() == [] and fakes.of("refund_card") == []


async def test_remit_bills_the_organization_at_once_and_bills_adjustments(
    time_skipping: WorkflowEnvironment, fakes: FakeActivities
) -> None:
    handle = await start(time_skipping, fakes, payer="remit")
    await eventually(lambda: "assignment.active" in fakes.events())
    assert [b.lines[0].amount for b in fakes.of("issue_bill")] == [PREMIUM]
    result = await handle.execute_update(
        AssignmentWorkflow.adjust, InvoiceAdjustment(invoice_id="in_r", premium=PREMIUM + 1000)
    )
    assert (result.before_charge, result.collected) == (False, PREMIUM + 1000)
    assert [b.lines[0].amount for b in fakes.of("issue_bill")] == [PREMIUM, 1000]
    assert (
        fakes.charged() == []
        and fakes.of("send_assignment_email")[-1].kind == "premium_increase_organization"
    )


async def test_a_standard_path_assignment_waits_for_its_application_then_owns_the_money(
    time_skipping: WorkflowEnvironment, fakes: FakeActivities
) -> None:
    handle = await start(time_skipping, fakes, coverage_path=CoveragePath.STANDARD)
    assert await status(handle) == "awaiting_application"
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(
            AssignmentWorkflow.adjust, InvoiceAdjustment(invoice_id="in_0", premium=1)
        )
    assert "not completed the application" in str(refused.value.cause)
    await handle.signal(AssignmentWorkflow.covered, Coverage(amount=PREMIUM, payment_intent_id="pi_app"))
    state = await handle.query(AssignmentWorkflow.state)
    assert (state.status, state.collected) == ("active", PREMIUM)
    cancelled = await handle.execute_update(AssignmentWorkflow.cancel, "client_request")
    assert cancelled.collected == 0
    assert [(r.payment_intent_id, r.amount) for r in fakes.of("refund_card")] == [("pi_app", PREMIUM)]
    assert fakes.charged() == [] and fakes.of("bind_assignment_coverage") == []


async def test_the_coverage_end_expires_the_assignment(
    time_skipping: WorkflowEnvironment, fakes: FakeActivities
) -> None:
    now = int((await time_skipping.get_current_time()).timestamp())
    handle = await start(time_skipping, fakes, ends_at=now + 3 * 86_400)
    await charged(time_skipping, fakes, handle)
    extended = await handle.execute_update(AssignmentWorkflow.extend, now + 5 * 86_400)
    assert extended.status == "active"
    await time_skipping.sleep(timedelta(days=3))
    assert await status(handle) == "active"  # extended: still covered
    assert (await handle.result()).status == "expired"
    assert fakes.of("record_assignment_progress")[-1].status == "expired"


async def test_a_long_history_continues_as_new_with_its_money(
    time_skipping: WorkflowEnvironment, fakes: FakeActivities
) -> None:
    handle = await start(time_skipping, fakes, max_history_events=60)
    await charged(time_skipping, fakes, handle)
    first_run = (await handle.describe()).run_id
    premium = PREMIUM
    for number in range(6):  # each adjustment adds events: past 60 the run continues as new
        premium += 100
        await handle.execute_update(
            AssignmentWorkflow.adjust, InvoiceAdjustment(invoice_id=f"in_grow{number}", premium=premium)
        )
    latest = time_skipping.client.get_workflow_handle_for(AssignmentWorkflow.run, handle.id)
    assert (await latest.describe()).run_id != first_run
    state = await latest.query(AssignmentWorkflow.state)
    assert (state.status, state.collected, state.premium) == ("active", premium, premium)
    again = await latest.execute_update(
        AssignmentWorkflow.adjust, InvoiceAdjustment(invoice_id="in_grow0", premium=1)
    )
    assert again.collected == premium  # the invoices seen before the new run are still known
    down = await latest.execute_update(
        AssignmentWorkflow.adjust, InvoiceAdjustment(invoice_id="in_after", premium=1000)
    )
    assert down.collected == 1000  # refunds spread over the payments made in the earlier run
    assert sum(r.amount for r in fakes.of("refund_card")) == premium - 1000
