"""The AssignmentWorkflow when the bank asks the contractor to confirm the off-session charge (3-D Secure),
with the real 24 hours (time-skipping server), the real activities, the database and localstripe: nothing
moves and nothing is declined for good; the contractor is emailed, the platform told; once they confirm it,
that same charge is taken up, once."""

import asyncio
from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest
import requests
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from common.settings import Settings
from contracts.application import CardInput
from contracts.assignment import AssignmentInput, AssignmentState, InvoiceAdjustment, NewCard
from db.models import EmailMessage
from tests.histories import keep_history
from tests.support import Org, card, intents_of, raw_stripe, refunded_to
from tests.test_application_workflow import (
    GOOD_ANSWERS,
    SIGNATURE,
    open_session,
    own_details,
    row_of,
    to_final_review,
)
from tests.test_application_workflow import start as start_application
from tests.test_assignment_workflow import charges, emails, make_assignment, save_card, settled, start
from workflows.application import ApplicationWorkflow
from workflows.assignment import AssignmentWorkflow

ALWAYS = "4000002760003184"  # asks for authentication on every payment, off-session ones included


def _confirm_as_the_contractor(localstripe: str, payment_intent_id: str) -> None:
    """What the card page does: the waiting intent confirmed on-session with the card, then the bank's
    challenge completed in Stripe.js."""
    client = raw_stripe(localstripe)
    intent = client.v1.payment_intents.retrieve(payment_intent_id)  # type: ignore[attr-defined]
    method = intent.to_dict()["last_payment_error"]["payment_method"]["id"]
    intent = client.v1.payment_intents.confirm(payment_intent_id, params={"payment_method": method})  # type: ignore[attr-defined]
    assert intent.status == "requires_action"
    answer = requests.post(
        f"{localstripe}/v1/payment_intents/{payment_intent_id}/_authenticate?success=true",
        json={"key": "pk_test_gigcover", "client_secret": intent.client_secret},
        timeout=10,
    )
    assert answer.json()["status"] in ("succeeded", "requires_capture"), answer.text  # a charge, or a hold


async def test_a_charge_the_bank_wants_confirmed_waits_then_moves_once(
    skipping: WorkflowEnvironment,
    api_url: str,
    org: Org,
    session_factory: sessionmaker[Session],
    settings: Settings,
    localstripe: str,
) -> None:
    a = await asyncio.to_thread(
        make_assignment, api_url, org, session_factory, settings, localstripe, number=ALWAYS
    )
    handle = await start(skipping, a)
    await skipping.sleep(timedelta(hours=25))
    await settled(lambda: "assignment_payment_authentication" in emails(session_factory, a.assignment_id))
    assert "assignment_charge_failure" not in emails(session_factory, a.assignment_id)
    state = await handle.query(AssignmentWorkflow.state)
    assert state.status == "charge_failed" and state.authentication_intent
    assert charges(localstripe, a) == [("requires_payment_method", a.premium)]  # waiting, nothing moved
    failed = httpx.get(
        f"{api_url}/api/v1/events", params={"type": "invoice.charge_card_failed"}, auth=(org.sandbox_key, "")
    ).json()
    assert failed[0]["data"]["id"] == a.assignment_id
    assert failed[0]["data"]["failure_code"] == "authentication_required"

    await handle.signal(AssignmentWorkflow.payment_authenticated, "pi_not_this_one")  # ignored
    await asyncio.to_thread(_confirm_as_the_contractor, localstripe, state.authentication_intent)
    await handle.signal(AssignmentWorkflow.payment_authenticated, state.authentication_intent)
    await handle.signal(AssignmentWorkflow.payment_authenticated, state.authentication_intent)  # twice
    await settled(lambda: charges(localstripe, a) == [("succeeded", a.premium)])
    await settled(lambda: "payment_confirmation" in emails(session_factory, a.assignment_id))
    state = await handle.query(AssignmentWorkflow.state)
    assert (state.status, state.collected, state.authentication_intent) == ("active", a.premium, None)
    assert charges(localstripe, a) == [("succeeded", a.premium)]  # the one intent, charged once
    await handle.terminate("test over")
    await keep_history(handle, "assignment_charge_authenticated")


async def state_reaches(
    handle: WorkflowHandle[AssignmentWorkflow, AssignmentState], check: Callable[[AssignmentState], bool]
) -> AssignmentState:
    """The workflow's state once ``check`` holds (a signal's effect comes a workflow task later)."""
    for _ in range(100):
        state = await handle.query(AssignmentWorkflow.state)
        if check(state):
            return state
        await asyncio.sleep(0.2)
    raise AssertionError(f"the state never got there: {state}")


async def collected_then_asked_about_an_increase(
    skipping: WorkflowEnvironment,
    api_url: str,
    org: Org,
    session_factory: sessionmaker[Session],
    settings: Settings,
    localstripe: str,
) -> tuple[AssignmentInput, WorkflowHandle[AssignmentWorkflow, AssignmentState]]:
    """An assignment charged at 24 hours; then the card on file is one whose bank asks for every payment,
    and the pay goes up by 500 cents: the increase waits for the contractor."""
    a = await asyncio.to_thread(make_assignment, api_url, org, session_factory, settings, localstripe)
    handle = await start(skipping, a)
    await skipping.sleep(timedelta(hours=25))
    await settled(lambda: charges(localstripe, a) == [("succeeded", a.premium)])
    await asyncio.to_thread(save_card, session_factory, settings, org, a.contractor_id, ALWAYS, localstripe)
    up = await handle.execute_update(
        AssignmentWorkflow.adjust, InvoiceAdjustment(invoice_id="in_up", premium=a.premium + 500)
    )
    assert up.collected == a.premium  # owed, not collected
    return a, handle


def _text_of(factory: sessionmaker[Session], assignment_id: str, kind: str) -> str:
    with factory() as session:
        rows = session.scalars(select(EmailMessage).where(EmailMessage.kind == kind))
        return "\n".join(m.text_body for m in rows if (m.related or {}).get("assignment") == assignment_id)


async def test_an_increase_the_bank_wants_confirmed_stays_owed_then_moves_once(
    skipping: WorkflowEnvironment,
    api_url: str,
    org: Org,
    session_factory: sessionmaker[Session],
    settings: Settings,
    localstripe: str,
) -> None:
    """After the premium was collected, the pay goes up and the card on file is now one whose bank asks to
    confirm every payment: the increase is not a decline. The contractor is emailed the link to confirm it
    (their coverage stays), the platform gets ``invoice.charge_card_failed`` with ``authentication_required``,
    the difference stays owed, and once they confirm it that same charge is taken up, once."""
    a, handle = await collected_then_asked_about_an_increase(
        skipping, api_url, org, session_factory, settings, localstripe
    )
    kinds = emails(session_factory, a.assignment_id)
    assert "assignment_payment_authentication" in kinds and "assignment_charge_failure" not in kinds
    assert "stays active" in _text_of(session_factory, a.assignment_id, "assignment_payment_authentication")
    state = await handle.query(AssignmentWorkflow.state)
    assert (state.status, state.premium, state.collected) == ("active", a.premium + 500, a.premium)
    assert state.authentication_intent
    assert charges(localstripe, a) == [("succeeded", a.premium), ("requires_payment_method", 500)]
    failed = httpx.get(
        f"{api_url}/api/v1/events", params={"type": "invoice.charge_card_failed"}, auth=(org.sandbox_key, "")
    ).json()
    assert failed[0]["data"]["id"] == a.assignment_id
    assert failed[0]["data"]["failure_code"] == "authentication_required"

    await asyncio.to_thread(_confirm_as_the_contractor, localstripe, state.authentication_intent)
    await handle.signal(AssignmentWorkflow.payment_authenticated, state.authentication_intent)
    await handle.signal(AssignmentWorkflow.payment_authenticated, state.authentication_intent)  # twice
    await settled(lambda: charges(localstripe, a) == [("succeeded", a.premium), ("succeeded", 500)])
    await settled(lambda: "payment_confirmation" in emails(session_factory, a.assignment_id))

    await state_reaches(handle, lambda s: (s.collected, s.authentication_intent) == (a.premium + 500, None))
    assert charges(localstripe, a) == [("succeeded", a.premium), ("succeeded", 500)]  # charged once
    await handle.terminate("test over")
    await keep_history(handle, "assignment_increase_authenticated")


async def test_a_hold_the_bank_wants_confirmed_waits_on_the_card_step_then_is_captured_once(
    skipping: WorkflowEnvironment,
    api_url: str,
    org: Org,
    session_factory: sessionmaker[Session],
    settings: Settings,
    localstripe: str,
) -> None:
    """The card step with a card whose bank asks for every payment: ``add_card`` is refused with
    ``authentication_required`` and the hold waits (not released); ``hold_authenticated`` for another intent
    is refused; once the contractor confirmed it, ``hold_authenticated`` takes it up, and completing the
    application captures that same hold."""
    app = await asyncio.to_thread(open_session, api_url, org, session_factory, settings)
    handle = await start_application(skipping, app)
    await handle.execute_update(ApplicationWorkflow.verify_info, own_details())
    await handle.execute_update(ApplicationWorkflow.answer_questions, GOOD_ANSWERS)
    await handle.execute_update(ApplicationWorkflow.sign, SIGNATURE)
    method = await asyncio.to_thread(card, localstripe, ALWAYS)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(ApplicationWorkflow.add_card, CardInput(payment_method_id=method))
    assert isinstance(refused.value.cause, ApplicationError)
    assert refused.value.cause.type == "authentication_required"
    state = await handle.query(ApplicationWorkflow.state)
    assert state.step == "add_card_details" and state.hold_to_authenticate
    assert intents_of(localstripe, app.session_id) == [("requires_payment_method", app.premium)]
    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update(ApplicationWorkflow.hold_authenticated, "pi_not_this_one")

    await asyncio.to_thread(_confirm_as_the_contractor, localstripe, state.hold_to_authenticate)
    moved = await handle.execute_update(ApplicationWorkflow.hold_authenticated, state.hold_to_authenticate)
    assert moved.step == "final_review"
    assert intents_of(localstripe, app.session_id) == [("requires_capture", app.premium)]
    result = await handle.execute_update(ApplicationWorkflow.complete)
    assert result.status == "APPLICATION_COMPLETE"
    await handle.result()
    assert intents_of(localstripe, app.session_id) == [("succeeded", app.premium)]
    await keep_history(handle, "application_hold_authenticated")


async def _waiting_first_charge(
    skipping: WorkflowEnvironment,
    api_url: str,
    org: Org,
    session_factory: sessionmaker[Session],
    settings: Settings,
    localstripe: str,
) -> tuple[AssignmentInput, WorkflowHandle[AssignmentWorkflow, AssignmentState], str]:
    """An assignment whose first charge waits for the bank's confirmation: the input, handle and intent."""
    a = await asyncio.to_thread(
        make_assignment, api_url, org, session_factory, settings, localstripe, number=ALWAYS
    )
    handle = await start(skipping, a)
    await skipping.sleep(timedelta(hours=25))
    await settled(lambda: "assignment_payment_authentication" in emails(session_factory, a.assignment_id))
    state = await handle.query(AssignmentWorkflow.state)
    assert state.authentication_intent
    return a, handle, state.authentication_intent


async def test_a_waiting_first_charge_superseded_by_a_new_amount_is_released_not_left_open(
    skipping: WorkflowEnvironment,
    api_url: str,
    org: Org,
    session_factory: sessionmaker[Session],
    settings: Settings,
    localstripe: str,
) -> None:
    """A new amount arrives while the first charge waits for the bank: that PaymentIntent is cancelled at the
    processor (a stale page that still had its challenge could otherwise confirm it, moving money no one
    recorded), and the new amount is charged after a new notice."""
    a, handle, waiting = await _waiting_first_charge(
        skipping, api_url, org, session_factory, settings, localstripe
    )
    await handle.execute_update(
        AssignmentWorkflow.adjust, InvoiceAdjustment(invoice_id="in_new", premium=4000)
    )
    await settled(lambda: charges(localstripe, a) == [("canceled", a.premium)])
    intent = raw_stripe(localstripe).v1.payment_intents.retrieve(waiting)  # type: ignore[attr-defined]
    assert intent.status == "canceled"
    await handle.terminate("test over")


async def test_a_first_charge_confirmed_just_before_a_new_amount_counts_and_is_corrected(
    skipping: WorkflowEnvironment,
    api_url: str,
    org: Org,
    session_factory: sessionmaker[Session],
    settings: Settings,
    localstripe: str,
) -> None:
    """The contractor confirmed the waiting charge with their bank, and a new (lower) amount arrives before
    their page tells us: the charge went through, so it is the premium collected (recorded once), and the
    difference is refunded; nothing is charged again."""
    a, handle, waiting = await _waiting_first_charge(
        skipping, api_url, org, session_factory, settings, localstripe
    )
    await asyncio.to_thread(_confirm_as_the_contractor, localstripe, waiting)
    await handle.execute_update(
        AssignmentWorkflow.adjust, InvoiceAdjustment(invoice_id="in_lower", premium=a.premium - 400)
    )

    await state_reaches(handle, lambda s: (s.status, s.collected) == ("active", a.premium - 400))
    assert charges(localstripe, a) == [("succeeded", a.premium)]  # the one confirmed charge, not a second
    assert refunded_to(localstripe, a.assignment_id) == 400
    await handle.terminate("test over")
    await keep_history(handle, "assignment_confirmed_charge_then_lowered")


async def test_a_waiting_increase_superseded_by_a_new_amount_is_released(
    skipping: WorkflowEnvironment,
    api_url: str,
    org: Org,
    session_factory: sessionmaker[Session],
    settings: Settings,
    localstripe: str,
) -> None:
    a, handle = await collected_then_asked_about_an_increase(
        skipping, api_url, org, session_factory, settings, localstripe
    )
    assert (await handle.query(AssignmentWorkflow.state)).authentication_intent
    back = await handle.execute_update(
        AssignmentWorkflow.adjust, InvoiceAdjustment(invoice_id="in_back", premium=a.premium)
    )
    assert back.collected == a.premium
    assert charges(localstripe, a) == [("succeeded", a.premium), ("canceled", 500)]
    state = await handle.query(AssignmentWorkflow.state)
    assert (state.collected, state.authentication_intent) == (a.premium, None)
    await handle.terminate("test over")


async def test_a_confirmed_increase_is_taken_up_by_its_own_id_whatever_card_is_on_file_now(
    skipping: WorkflowEnvironment,
    api_url: str,
    org: Org,
    session_factory: sessionmaker[Session],
    settings: Settings,
    localstripe: str,
) -> None:
    """Between the bank's question and the contractor's confirmation, the card on file moved to another
    Stripe customer (a later application): the confirmed increase is still that PaymentIntent, recorded
    once, not looked up under its key on the new customer (nor charged again on the new card)."""
    a, handle = await collected_then_asked_about_an_increase(
        skipping, api_url, org, session_factory, settings, localstripe
    )
    waiting = (await handle.query(AssignmentWorkflow.state)).authentication_intent
    assert waiting
    await asyncio.to_thread(_confirm_as_the_contractor, localstripe, waiting)
    await asyncio.to_thread(  # another customer's card is on file now
        save_card, session_factory, settings, org, a.contractor_id, "4242424242424242", localstripe
    )
    await handle.signal(AssignmentWorkflow.payment_authenticated, waiting)
    await settled(lambda: "payment_confirmation" in emails(session_factory, a.assignment_id)[1:])

    await state_reaches(handle, lambda s: s.collected == a.premium + 500)
    assert charges(localstripe, a) == [("succeeded", a.premium), ("succeeded", 500)]
    await handle.terminate("test over")


async def test_completing_while_another_card_waits_for_its_bank_releases_that_hold(
    skipping: WorkflowEnvironment,
    api_url: str,
    org: Org,
    session_factory: sessionmaker[Session],
    settings: Settings,
    localstripe: str,
) -> None:
    """At Review with a hold on one card, the contractor goes back and tries a card whose bank asks to
    confirm it, then completes with the first: the first hold is captured, the waiting one released, and
    the card on file stays the first (a card its bank never confirmed is not saved for later charges)."""
    app = await asyncio.to_thread(open_session, api_url, org, session_factory, settings)
    handle = await start_application(skipping, app)
    await to_final_review(handle, await asyncio.to_thread(card, localstripe, "4242424242424242"))
    first = row_of(session_factory, app.session_id).payment_method_id
    method = await asyncio.to_thread(card, localstripe, ALWAYS)
    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update(ApplicationWorkflow.add_card, CardInput(payment_method_id=method))
    assert row_of(session_factory, app.session_id).payment_method_id == first
    result = await handle.execute_update(ApplicationWorkflow.complete)
    assert result.status == "APPLICATION_COMPLETE"
    await handle.result()
    assert intents_of(localstripe, app.session_id) == [("canceled", app.premium), ("succeeded", app.premium)]
    assert row_of(session_factory, app.session_id).payment_method_id == first


async def test_a_new_card_while_an_increase_waits_for_the_bank_closes_it_and_pays_once(
    skipping: WorkflowEnvironment,
    api_url: str,
    org: Org,
    session_factory: sessionmaker[Session],
    settings: Settings,
    localstripe: str,
) -> None:
    """The contractor's bank will not confirm the increase, so they save another card: the waiting
    PaymentIntent is cancelled first, then the new card pays the difference, once."""
    a, handle = await collected_then_asked_about_an_increase(
        skipping, api_url, org, session_factory, settings, localstripe
    )
    await asyncio.to_thread(
        save_card, session_factory, settings, org, a.contractor_id, "4242424242424242", localstripe
    )
    await handle.signal(AssignmentWorkflow.card_updated, NewCard(payment_method_id="pm_new"))
    await state_reaches(handle, lambda s: (s.collected, s.authentication_intent) == (a.premium + 500, None))
    assert charges(localstripe, a) == [("succeeded", a.premium), ("canceled", 500), ("succeeded", 500)]
    await handle.terminate("test over")
