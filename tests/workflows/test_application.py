"""The ApplicationWorkflow alone: its timers skipped, its activities fakes. The hosted pages' Updates drive
it; these check what it asks for (holds, captures, releases, reviews, events) and where it ends."""

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from contracts.application import (
    Answers,
    ApplicationInput,
    ApplicationState,
    CardInput,
    ContractorDetails,
    ReviewDecision,
    SignatureInput,
)
from tests.workflows.fakes import DECLINED, FakeActivities, eventually, worker
from workflows.application import ApplicationWorkflow

DAY = 86_400
PREMIUM = 3100
DETAILS = ContractorDetails(
    first_name="Jane",
    last_name="Doe",
    email="jane.doe@example.com",
    phone="5551234567",
    line1="1 Market St",
    locality="San Francisco",
    region="CA",
    postalcode="94105",
)
GOOD_ANSWERS = Answers(
    hires_workers=False, claims_last_three_years=0, licensed_if_required=True, years_experience=5
)
MANY_CLAIMS = GOOD_ANSWERS.model_copy(update={"claims_last_three_years": 3})
SIGNATURE = SignatureInput(typed_name="Jane Doe", consent=True, ip_address="127.0.0.1")
CARD = CardInput(payment_method_id="pm_card_visa")
Handle = WorkflowHandle[ApplicationWorkflow, ApplicationState]


@pytest.fixture
async def fakes(time_skipping: WorkflowEnvironment) -> AsyncIterator[FakeActivities]:
    fakes = FakeActivities()
    async with worker(time_skipping, fakes):
        yield fakes


_numbers = iter(range(1, 10_000))


async def start(env: WorkflowEnvironment, fakes: FakeActivities, **changes: object) -> Handle:
    app = ApplicationInput(
        session_id=f"ias_unit{next(_numbers)}",
        organization_id="org_unit",
        environment="sandbox",
        contractor_id="cn_unit",
        quote_id="qt_unit",
        is_general_opt_in=False,
        work_state="CA",
        premium=PREMIUM,
        withhold_premium=False,
        lifetime_seconds=3 * DAY,
        success_url="https://platform.example/done",
        cancel_url="https://platform.example/cancelled",
    ).model_copy(update=changes)
    return await env.client.start_workflow(
        ApplicationWorkflow.run, app, id=f"application-{app.session_id}", task_queue=fakes.task_queue
    )


async def through_the_signature(handle: Handle, answers: Answers = GOOD_ANSWERS) -> None:
    await handle.execute_update(ApplicationWorkflow.verify_info, DETAILS)
    await handle.execute_update(ApplicationWorkflow.answer_questions, answers)
    await handle.execute_update(ApplicationWorkflow.sign, SIGNATURE)


async def refusal(handle: Handle, update: object, *args: object) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(update, *args)  # type: ignore[call-overload]
    return str(refused.value.cause)


def steps(fakes: FakeActivities) -> list[tuple[str, str]]:
    return [(p.step, p.status) for p in fakes.of("record_progress")]


async def test_a_card_paid_application_holds_then_captures_once_and_binds(
    time_skipping: WorkflowEnvironment, fakes: FakeActivities
) -> None:
    handle = await start(time_skipping, fakes)
    await through_the_signature(handle)
    carded = await handle.execute_update(ApplicationWorkflow.add_card, CARD)
    assert (carded.step, carded.status) == ("final_review", "IN_PROGRESS")
    state = await handle.query(ApplicationWorkflow.state)
    assert state.card_summary == "Visa •••• 4242"
    assert [h.amount for h in fakes.of("authorize_card")] == [PREMIUM]
    done = await handle.execute_update(ApplicationWorkflow.complete)
    assert (done.status, done.redirect_url) == ("APPLICATION_COMPLETE", "https://platform.example/done")
    assert [c.payment_intent_id for c in fakes.of("capture_payment")] == ["pi_hold_1"]
    assert fakes.of("complete_application")[0].policy_id == "pol_fake"
    assert fakes.of("hand_over_engagement") == [handle.id.removeprefix("application-")]
    await eventually(lambda: len(fakes.of("send_payment_confirmation")) == 1)  # after the Update answers
    assert fakes.events() == ["application.complete", "policy.active"]
    assert steps(fakes) == [
        ("application_questions", "IN_PROGRESS"),
        ("esignature_document", "IN_PROGRESS"),
        ("add_card_details", "IN_PROGRESS"),
        ("final_review", "IN_PROGRESS"),
    ]
    assert (await handle.result()).status == "APPLICATION_COMPLETE"


async def test_a_declined_card_keeps_the_step_open_and_a_new_card_replaces_the_hold(
    time_skipping: WorkflowEnvironment, fakes: FakeActivities
) -> None:
    handle = await start(time_skipping, fakes)
    await through_the_signature(handle)
    fakes.holds_declined = 1
    assert DECLINED in await refusal(handle, ApplicationWorkflow.add_card, CARD)
    assert (await handle.query(ApplicationWorkflow.state)).step == "add_card_details"
    await handle.execute_update(ApplicationWorkflow.add_card, CARD)
    await handle.execute_update(ApplicationWorkflow.add_card, CARD)  # Back, and another card
    assert fakes.of("release_hold") == ["pi_hold_1"]
    keys = [h.idempotency_key.rsplit(":", 1)[1] for h in fakes.of("authorize_card")]
    assert keys == ["r1", "r2", "r3"]  # each attempt its own key
    await handle.execute_update(ApplicationWorkflow.complete)
    assert [c.payment_intent_id for c in fakes.of("capture_payment")] == ["pi_hold_2"]


async def test_a_card_hold_is_renewed_a_day_before_it_lapses(
    time_skipping: WorkflowEnvironment, fakes: FakeActivities
) -> None:
    handle = await start(time_skipping, fakes, lifetime_seconds=14 * DAY)
    await through_the_signature(handle)
    await handle.execute_update(ApplicationWorkflow.add_card, CARD)
    await time_skipping.sleep(timedelta(days=4, hours=23))
    assert len(fakes.of("authorize_card")) == 1
    await time_skipping.sleep(timedelta(hours=2))  # 5 days after the hold: 6 days valid, renewed 1 day before
    await eventually(lambda: fakes.of("release_hold") == ["pi_hold_1"])
    renewal = fakes.of("authorize_card")[1]
    assert (renewal.payment_method_id, renewal.amount) == ("pm_saved", PREMIUM)
    await time_skipping.sleep(timedelta(days=5))  # and the renewed hold is renewed in its turn
    await eventually(lambda: fakes.of("release_hold") == ["pi_hold_1", "pi_hold_2"])
    await handle.execute_update(ApplicationWorkflow.complete)
    assert [c.payment_intent_id for c in fakes.of("capture_payment")] == ["pi_hold_3"]


async def test_a_renewal_the_processor_refuses_keeps_the_hold_there_is(
    time_skipping: WorkflowEnvironment, fakes: FakeActivities
) -> None:
    handle = await start(time_skipping, fakes, lifetime_seconds=10 * DAY)
    await through_the_signature(handle)
    await handle.execute_update(ApplicationWorkflow.add_card, CARD)
    fakes.holds_unavailable = 1
    await time_skipping.sleep(timedelta(days=5, hours=1))
    await eventually(lambda: len(fakes.of("authorize_card")) == 2)
    await time_skipping.sleep(timedelta(days=4))
    assert len(fakes.of("authorize_card")) == 2 and fakes.of("release_hold") == []  # no further tries
    fakes.capture_refused = True  # the hold lapsed meanwhile: completing asks for the card again
    assert "enter your card again" in await refusal(handle, ApplicationWorkflow.complete)
    state = await handle.query(ApplicationWorkflow.state)
    assert (state.step, state.status, state.card_summary) == ("add_card_details", "IN_PROGRESS", None)
    await handle.execute_update(ApplicationWorkflow.add_card, CARD)
    done = await handle.execute_update(ApplicationWorkflow.complete)
    assert done.status == "APPLICATION_COMPLETE"
    assert [c.payment_intent_id for c in fakes.of("capture_payment")] == ["pi_hold_1", "pi_hold_2"]


async def test_an_unfinished_application_expires_and_releases_its_hold(
    time_skipping: WorkflowEnvironment, fakes: FakeActivities
) -> None:
    handle = await start(time_skipping, fakes)
    await through_the_signature(handle)
    await handle.execute_update(ApplicationWorkflow.add_card, CARD)
    result = await handle.result()  # the test server skips to the end of its lifetime
    assert (result.status, result.ended_reason) == ("EXPIRED", "The application was not completed in time.")
    assert fakes.of("release_hold") == ["pi_hold_1"]
    assert fakes.of("record_progress")[-1].status == "EXPIRED"
    assert fakes.events() == ["application.expired"]
    assert fakes.of("capture_payment") == []


async def test_the_expire_update_ends_it_at_once(
    time_skipping: WorkflowEnvironment, fakes: FakeActivities
) -> None:
    handle = await start(time_skipping, fakes)
    await handle.execute_update(ApplicationWorkflow.verify_info, DETAILS)
    ended = await handle.execute_update(ApplicationWorkflow.expire)
    assert (ended.status, ended.redirect_url) == ("EXPIRED", "https://platform.example/cancelled")
    assert fakes.events() == ["application.expired"]
    assert (await handle.result()).status == "EXPIRED"


async def test_many_claims_wait_for_an_underwriter_who_approves(
    time_skipping: WorkflowEnvironment, fakes: FakeActivities
) -> None:
    handle = await start(time_skipping, fakes)
    await handle.execute_update(ApplicationWorkflow.verify_info, DETAILS)
    waiting = await handle.execute_update(ApplicationWorkflow.answer_questions, MANY_CLAIMS)
    assert waiting.status == "MANUAL_REVIEW" and "underwriter" in (waiting.message or "")
    assert "underwriter is reviewing" in await refusal(handle, ApplicationWorkflow.sign, SIGNATURE)
    approved = await handle.execute_update(ApplicationWorkflow.review, ReviewDecision(approve=True))
    assert (approved.step, approved.status) == ("esignature_document", "IN_PROGRESS")
    reviews = fakes.of("record_review")
    assert [(r.status, r.event_type, r.email) for r in reviews] == [
        ("MANUAL_REVIEW", "application.manual_review", None),
        ("IN_PROGRESS", "application.manual_review_approved", "approved"),
    ]
    assert "not under review" in await refusal(
        handle, ApplicationWorkflow.review, ReviewDecision(approve=False)
    )
    await handle.execute_update(ApplicationWorkflow.sign, SIGNATURE)
    await handle.execute_update(ApplicationWorkflow.add_card, CARD)
    assert (await handle.execute_update(ApplicationWorkflow.complete)).status == "APPLICATION_COMPLETE"


async def test_an_underwriter_who_declines_ends_the_application(
    time_skipping: WorkflowEnvironment, fakes: FakeActivities
) -> None:
    handle = await start(time_skipping, fakes)
    await handle.execute_update(ApplicationWorkflow.verify_info, DETAILS)
    await handle.execute_update(ApplicationWorkflow.answer_questions, MANY_CLAIMS)
    declined = await handle.execute_update(
        ApplicationWorkflow.review, ReviewDecision(approve=False, reason="Too many claims.")
    )
    assert (declined.status, declined.message) == ("INELIGIBLE", "Too many claims.")
    assert declined.redirect_url == "https://platform.example/cancelled"
    result = await handle.result()
    assert (result.status, result.ended_reason) == ("INELIGIBLE", "Too many claims.")
    assert fakes.of("record_review")[-1].email == "declined"


async def test_the_lifetime_runs_on_during_a_review(
    time_skipping: WorkflowEnvironment, fakes: FakeActivities
) -> None:
    handle = await start(time_skipping, fakes)
    await handle.execute_update(ApplicationWorkflow.verify_info, DETAILS)
    await handle.execute_update(ApplicationWorkflow.answer_questions, MANY_CLAIMS)
    assert (await handle.result()).status == "EXPIRED"
    assert fakes.events() == ["application.expired"]


async def test_ineligible_answers_end_the_application(
    time_skipping: WorkflowEnvironment, fakes: FakeActivities
) -> None:
    handle = await start(time_skipping, fakes)
    await handle.execute_update(ApplicationWorkflow.verify_info, DETAILS)
    ended = await handle.execute_update(
        ApplicationWorkflow.answer_questions, GOOD_ANSWERS.model_copy(update={"hires_workers": True})
    )
    assert ended.status == "INELIGIBLE" and "work alone" in (ended.message or "")
    assert (await handle.result()).status == "INELIGIBLE"
    assert fakes.events() == ["application.ineligible"]


async def test_a_withheld_premium_bills_the_organization_and_skips_the_card(
    time_skipping: WorkflowEnvironment, fakes: FakeActivities
) -> None:
    handle = await start(time_skipping, fakes, withhold_premium=True)
    await through_the_signature(handle)
    assert (await handle.query(ApplicationWorkflow.state)).step == "final_review"
    assert "no card is needed" in await refusal(handle, ApplicationWorkflow.add_card, CARD)
    assert (await handle.execute_update(ApplicationWorkflow.complete)).status == "APPLICATION_COMPLETE"
    bills = fakes.of("issue_bill")
    assert [(b.policy_id, b.lines[0].amount) for b in bills] == [("pol_fake", PREMIUM)]
    assert fakes.of("complete_application")[0].bill_id == bills[0].bill_id
    assert fakes.of("authorize_card") == fakes.of("capture_payment") == []
    assert fakes.of("send_payment_confirmation") == []


async def test_a_general_opt_in_completes_without_binding(
    time_skipping: WorkflowEnvironment, fakes: FakeActivities
) -> None:
    handle = await start(time_skipping, fakes, is_general_opt_in=True, withhold_premium=True, quote_id=None)
    await through_the_signature(handle)
    assert (await handle.execute_update(ApplicationWorkflow.complete)).status == "APPLICATION_COMPLETE"
    await eventually(lambda: fakes.events() == ["application.complete"])
    assert fakes.of("bind_policy") == fakes.of("hand_over_engagement") == fakes.of("issue_bill") == []
