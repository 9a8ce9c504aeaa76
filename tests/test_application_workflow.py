"""The ApplicationWorkflow under Temporal's time-skipping test server (real days skipped), with the real
activities, database and localstripe; and a worker killed mid-application on the dev server."""

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from common.ids import new_document_token, new_session_id
from common.settings import Settings
from contracts.application import (
    Answers,
    ApplicationInput,
    ApplicationState,
    CardInput,
    ContractorDetails,
    ReviewDecision,
    SignatureInput,
)
from db.models import ApplicationSession, EmailMessage
from integrations.stripe_gateway import StripeGateway
from outbox.dispatch import application_input
from services.workflow_calls import refusal_of
from tests.histories import keep_history
from tests.support import Org, card, contractor_fields, entity_fields, intents_of, job_fields, unique_email
from workflows.application import ApplicationWorkflow

DAY = 86_400
ROOT = Path(__file__).resolve().parent.parent
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
SIGNATURE = SignatureInput(typed_name="Jane Doe", consent=True, ip_address="127.0.0.1")


def open_session(
    api_url: str,
    org: Org,
    factory: sessionmaker[Session],
    settings: Settings,
    *,
    withhold: bool = False,
    general_opt_in: bool = False,
    lifetime: int = 3 * DAY,
) -> ApplicationInput:
    """A session as the API makes it, but not handed to the dev server: each test runs its own workflow."""
    with httpx.Client(base_url=f"{api_url}/api/v1", auth=(org.sandbox_key, ""), timeout=30) as http:
        entity = http.post("/entities", json=entity_fields()).json()["id"]
        contractor = http.post(
            "/contractors", json=contractor_fields(unique_email(), withhold_premium=withhold or None)
        ).json()
        job = http.post("/jobs", json=job_fields(entity)).json()["id"]
        quote = http.post(
            "/quotes", json={"contractor": contractor["id"], "job": job, "coverage_type": ["workers-comp"]}
        ).json()
    now = int(time.time())
    row = ApplicationSession(
        id=new_session_id(),
        organization_id=org.id,
        environment="sandbox",
        created=now,
        token=new_document_token(),
        contractor_id=contractor["id"],
        quote_id=None if general_opt_in else quote["id"],
        job_id=None if general_opt_in else job,
        is_general_opt_in=general_opt_in,
        work_state="CA",
        coverage_type=["workers-comp"],
        success_url="https://platform.example/ok",
        cancel_url="https://platform.example/cancel",
        status="CREATED",
        step="verify_info",
        premium=0 if general_opt_in else quote["premium_due"],
        withhold_premium=withhold or general_opt_in,
        expires_at=now + lifetime,
        dispatched=True,
        answers={},
        signature={},
    )
    if not row.withhold_premium:
        row.stripe_customer_id = StripeGateway(settings).create_customer(
            "jane.doe@example.com", "Jane Doe", {"contractor": row.contractor_id}, f"customer:{row.id}"
        )
    with factory() as session:
        session.add(row)
        session.commit()
        return application_input(row, settings)


async def start(
    env: WorkflowEnvironment | Client, app: ApplicationInput, task_queue: str = "gigcover"
) -> WorkflowHandle[ApplicationWorkflow, ApplicationState]:
    client = env.client if isinstance(env, WorkflowEnvironment) else env
    return await client.start_workflow(
        ApplicationWorkflow.run, app, id=f"application-{app.session_id}", task_queue=task_queue
    )


def own_details() -> ContractorDetails:
    """DETAILS with an email of its own: contractors of one organization cannot share one."""
    return DETAILS.model_copy(update={"email": unique_email()})


async def to_final_review(
    handle: WorkflowHandle[ApplicationWorkflow, ApplicationState], card_id: str | None
) -> None:
    await handle.execute_update(ApplicationWorkflow.verify_info, own_details())
    await handle.execute_update(ApplicationWorkflow.answer_questions, GOOD_ANSWERS)
    await handle.execute_update(ApplicationWorkflow.sign, SIGNATURE)
    if card_id is not None:
        await handle.execute_update(ApplicationWorkflow.add_card, CardInput(payment_method_id=card_id))
    assert (await handle.query(ApplicationWorkflow.state)).step == "final_review"


def worker_processes(
    queue: str, database_url: str, temporal_address: str, localstripe: str, settings: Settings
) -> Callable[..., subprocess.Popen[bytes]]:
    """Starts real ``worker.py`` processes on their own task queue, wired like the test's stack."""
    env = {
        **os.environ,
        "GIGCOVER_DATABASE_URL": database_url,
        "GIGCOVER_TEMPORAL_ADDRESS": temporal_address,
        "GIGCOVER_TASK_QUEUE": queue,
        "GIGCOVER_STRIPE_API_BASE": localstripe,
        "GIGCOVER_SMTP_PORT": str(settings.smtp_port),
        "GIGCOVER_DATA_DIR": str(settings.data_dir),
        "GIGCOVER_PUBLIC_BASE_URL": settings.public_base_url,
        "GIGCOVER_SANDBOX_PRIVATE_WEBHOOK_TARGETS": "true",
    }

    def spawn(trap: str | None = None) -> subprocess.Popen[bytes]:
        """``trap``: an activity boundary where the worker kills itself (see tests/crashing_worker.py)."""
        return subprocess.Popen(
            [sys.executable, "-m", "tests.crashing_worker", trap] if trap else [sys.executable, "worker.py"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )

    return spawn


def row_of(factory: sessionmaker[Session], session_id: str) -> ApplicationSession:
    with factory() as session:
        row = session.scalar(select(ApplicationSession).where(ApplicationSession.id == session_id))
        assert row is not None
        return row


async def test_an_unfinished_application_expires_after_its_lifetime(
    skipping: WorkflowEnvironment,
    api_url: str,
    org: Org,
    session_factory: sessionmaker[Session],
    settings: Settings,
) -> None:
    app = await asyncio.to_thread(open_session, api_url, org, session_factory, settings, lifetime=3 * DAY)
    handle = await start(skipping, app)
    await handle.execute_update(ApplicationWorkflow.verify_info, DETAILS)
    before = await skipping.get_current_time()
    state = await handle.result()
    assert (state.status, state.step) == ("EXPIRED", "application_questions")
    assert (await skipping.get_current_time() - before).total_seconds() >= 3 * DAY - 60
    await keep_history(handle, "application_expired")
    assert row_of(session_factory, app.session_id).status == "EXPIRED"
    events = httpx.get(
        f"{api_url}/api/v1/events", params={"type": "application.expired"}, auth=(org.sandbox_key, "")
    ).json()
    assert events[0]["data"]["id"] == app.session_id


async def test_a_card_paid_application_captures_once_and_binds(
    skipping: WorkflowEnvironment,
    api_url: str,
    org: Org,
    session_factory: sessionmaker[Session],
    settings: Settings,
    localstripe: str,
) -> None:
    app = await asyncio.to_thread(open_session, api_url, org, session_factory, settings)
    handle = await start(skipping, app)
    await to_final_review(handle, await asyncio.to_thread(card, localstripe, "4242424242424242"))
    assert intents_of(localstripe, app.session_id) == [("requires_capture", app.premium)]
    result = await handle.execute_update(ApplicationWorkflow.complete)
    assert (result.status, result.redirect_url) == ("APPLICATION_COMPLETE", "https://platform.example/ok")
    again = await handle.execute_update(ApplicationWorkflow.complete)  # a double click
    assert again.status == "APPLICATION_COMPLETE"
    state = await handle.result()
    await keep_history(handle, "application_card_paid")
    assert state.policy_id and intents_of(localstripe, app.session_id) == [("succeeded", app.premium)]
    assert row_of(session_factory, app.session_id).policy_id == state.policy_id


async def test_a_card_hold_is_renewed_before_it_lapses(
    skipping: WorkflowEnvironment,
    api_url: str,
    org: Org,
    session_factory: sessionmaker[Session],
    settings: Settings,
    localstripe: str,
) -> None:
    app = await asyncio.to_thread(open_session, api_url, org, session_factory, settings, lifetime=12 * DAY)
    handle = await start(skipping, app)
    await to_final_review(handle, await asyncio.to_thread(card, localstripe, "4242424242424242"))
    first_hold = row_of(session_factory, app.session_id).payment_intent_id
    await skipping.sleep(6 * DAY)  # a hold lasts ~7 days; it is renewed a day before the 6-day mark
    renewed = [("canceled", app.premium), ("requires_capture", app.premium)]
    deadline = time.monotonic() + 15
    while intents_of(localstripe, app.session_id) != renewed and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert intents_of(localstripe, app.session_id) == renewed
    assert row_of(session_factory, app.session_id).payment_intent_id != first_hold
    with session_factory() as session:  # the renewal holds the same card again: no second reminder
        reminders = session.scalars(select(EmailMessage).where(EmailMessage.kind == "payment_reminder"))
        assert [m.related for m in reminders].count({"application_session": app.session_id}) == 1
    await handle.execute_update(ApplicationWorkflow.complete)
    await handle.result()
    await keep_history(handle, "application_hold_renewed")
    assert intents_of(localstripe, app.session_id) == [("canceled", app.premium), ("succeeded", app.premium)]


async def test_general_opt_in_completes_without_binding_or_card(
    skipping: WorkflowEnvironment,
    api_url: str,
    org: Org,
    session_factory: sessionmaker[Session],
    settings: Settings,
) -> None:
    app = await asyncio.to_thread(open_session, api_url, org, session_factory, settings, general_opt_in=True)
    handle = await start(skipping, app)
    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update(ApplicationWorkflow.add_card, CardInput(payment_method_id="pm_x"))
    await to_final_review(handle, None)
    await handle.execute_update(ApplicationWorkflow.complete)
    state = await handle.result()
    await keep_history(handle, "application_general_opt_in")
    assert (state.status, state.policy_id) == ("APPLICATION_COMPLETE", None)
    row = row_of(session_factory, app.session_id)
    assert (row.status, row.policy_id, row.bill_id, row.work_state) == (
        "APPLICATION_COMPLETE",
        None,
        None,
        "CA",
    )


async def test_withheld_premium_bills_the_organization(
    skipping: WorkflowEnvironment,
    api_url: str,
    org: Org,
    session_factory: sessionmaker[Session],
    settings: Settings,
) -> None:
    app = await asyncio.to_thread(open_session, api_url, org, session_factory, settings, withhold=True)
    handle = await start(skipping, app)
    await to_final_review(handle, None)
    await handle.execute_update(ApplicationWorkflow.complete)
    state = await handle.result()
    await keep_history(handle, "application_withheld")
    bill = httpx.get(
        f"{api_url}/api/v1/bills/{row_of(session_factory, app.session_id).bill_id}",
        auth=(org.sandbox_key, ""),
    ).json()
    assert (bill["amount_due"], bill["policy"]) == (app.premium, state.policy_id)


async def test_ineligible_answers_end_the_application(
    skipping: WorkflowEnvironment,
    api_url: str,
    org: Org,
    session_factory: sessionmaker[Session],
    settings: Settings,
) -> None:
    app = await asyncio.to_thread(open_session, api_url, org, session_factory, settings)
    handle = await start(skipping, app)
    await handle.execute_update(ApplicationWorkflow.verify_info, DETAILS)
    result = await handle.execute_update(
        ApplicationWorkflow.answer_questions, GOOD_ANSWERS.model_copy(update={"hires_workers": True})
    )
    assert (result.status, result.redirect_url) == ("INELIGIBLE", "https://platform.example/cancel")
    assert "work alone" in (result.message or "")
    assert (await handle.result()).status == "INELIGIBLE"
    assert row_of(session_factory, app.session_id).status == "INELIGIBLE"


async def test_the_steps_rules_hold_for_every_caller_of_the_updates_not_only_the_hosted_page(
    skipping: WorkflowEnvironment,
    api_url: str,
    org: Org,
    session_factory: sessionmaker[Session],
    settings: Settings,
) -> None:
    """A caller that sends the Updates itself (not through the hosted forms) meets the same rules: the
    address is in a US state, and the signature is the contractor's full name as their details give it."""
    app = await asyncio.to_thread(open_session, api_url, org, session_factory, settings)
    handle = await start(skipping, app)
    with pytest.raises(WorkflowUpdateFailedError) as abroad:
        await handle.execute_update(
            ApplicationWorkflow.verify_info, DETAILS.model_copy(update={"region": "ZZ"})
        )
    assert refusal_of(abroad.value).message == "Please choose a US state."
    await handle.execute_update(ApplicationWorkflow.verify_info, DETAILS)
    await handle.execute_update(ApplicationWorkflow.answer_questions, GOOD_ANSWERS)
    with pytest.raises(WorkflowUpdateFailedError) as forged:
        await handle.execute_update(
            ApplicationWorkflow.sign, SIGNATURE.model_copy(update={"typed_name": "Someone Else"})
        )
    assert refusal_of(forged.value).message == "Please type your full name exactly: Jane Doe"
    assert (await handle.query(ApplicationWorkflow.state)).step == "esignature_document"
    signed = await handle.execute_update(
        ApplicationWorkflow.sign, SIGNATURE.model_copy(update={"typed_name": "jane  DOE"})
    )  # case and spacing aside
    assert signed.step == "add_card_details"
    await handle.terminate("test over")


async def test_a_bad_update_is_rejected_without_a_trace_in_history(
    skipping: WorkflowEnvironment,
    api_url: str,
    org: Org,
    session_factory: sessionmaker[Session],
    settings: Settings,
) -> None:
    app = await asyncio.to_thread(open_session, api_url, org, session_factory, settings)
    handle = await start(skipping, app)
    await handle.execute_update(ApplicationWorkflow.verify_info, DETAILS)

    def update_events(history: object) -> int:
        kinds = {
            EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
            EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED,
        }
        return sum(1 for e in history.events if e.event_type in kinds)  # type: ignore[attr-defined]

    accepted = update_events(await handle.fetch_history())
    for bad in (
        lambda: handle.execute_update(ApplicationWorkflow.complete),  # not at final review yet
        lambda: handle.execute_update(
            ApplicationWorkflow.sign, SIGNATURE.model_copy(update={"consent": False})
        ),
    ):
        with pytest.raises(WorkflowUpdateFailedError):
            await bad()
    assert update_events(await handle.fetch_history()) == accepted
    assert (await handle.query(ApplicationWorkflow.state)).step == "application_questions"
    await handle.terminate("test over")


MANY_CLAIMS = GOOD_ANSWERS.model_copy(update={"claims_last_three_years": 4})


def _api_get(api_url: str, org: Org, path: str, **params: str) -> object:
    return httpx.get(f"{api_url}/api/v1{path}", params=params, auth=(org.sandbox_key, ""), timeout=30).json()


async def _to_review(
    env: WorkflowEnvironment, api_url: str, org: Org, factory: sessionmaker[Session], settings: Settings
) -> tuple[ApplicationInput, WorkflowHandle[ApplicationWorkflow, ApplicationState]]:
    app = await asyncio.to_thread(open_session, api_url, org, factory, settings)
    handle = await start(env, app)
    await handle.execute_update(ApplicationWorkflow.verify_info, DETAILS)
    result = await handle.execute_update(ApplicationWorkflow.answer_questions, MANY_CLAIMS)
    assert (result.status, result.step) == ("MANUAL_REVIEW", "application_questions")
    assert result.redirect_url is None
    assert "underwriter" in (result.message or "")
    assert row_of(factory, app.session_id).status == "MANUAL_REVIEW"
    return app, handle


async def test_many_claims_wait_for_an_underwriter_who_approves(
    skipping: WorkflowEnvironment,
    api_url: str,
    org: Org,
    session_factory: sessionmaker[Session],
    settings: Settings,
    localstripe: str,
) -> None:
    app, handle = await _to_review(skipping, api_url, org, session_factory, settings)
    [held] = _api_get(api_url, org, "/events", type="application.manual_review")  # type: ignore[misc]
    assert (held["data"]["id"], held["data"]["status"], held["data"]["object"]) == (
        app.session_id,
        "MANUAL_REVIEW",
        "insurance_application_session",
    )
    for step in (  # nothing moves while the underwriter decides, not even new answers
        lambda: handle.execute_update(ApplicationWorkflow.answer_questions, GOOD_ANSWERS),
        lambda: handle.execute_update(ApplicationWorkflow.sign, SIGNATURE),
        lambda: handle.execute_update(ApplicationWorkflow.verify_info, DETAILS),
    ):
        with pytest.raises(WorkflowUpdateFailedError):
            await step()
    approved = await handle.execute_update(ApplicationWorkflow.review, ReviewDecision(approve=True))
    assert (approved.status, approved.step) == ("IN_PROGRESS", "esignature_document")
    with pytest.raises(WorkflowUpdateFailedError):  # decided once
        await handle.execute_update(ApplicationWorkflow.review, ReviewDecision(approve=False))
    [event] = _api_get(api_url, org, "/events", type="application.manual_review_approved")  # type: ignore[misc]
    assert (event["data"]["id"], event["data"]["step"]) == (app.session_id, "esignature_document")
    [email] = _api_get(api_url, org, "/emails", kind="application_review_approved")  # type: ignore[misc]
    assert email["related"] == {"application_session": app.session_id}

    await handle.execute_update(ApplicationWorkflow.sign, SIGNATURE)
    card_id = await asyncio.to_thread(card, localstripe, "4242424242424242")
    await handle.execute_update(ApplicationWorkflow.add_card, CardInput(payment_method_id=card_id))
    await handle.execute_update(ApplicationWorkflow.complete)
    state = await handle.result()
    await keep_history(handle, "application_manual_review_approved")
    assert state.status == "APPLICATION_COMPLETE" and state.policy_id
    assert intents_of(localstripe, app.session_id) == [("succeeded", app.premium)]


async def test_an_underwriter_who_declines_ends_the_application(
    skipping: WorkflowEnvironment,
    api_url: str,
    org: Org,
    session_factory: sessionmaker[Session],
    settings: Settings,
) -> None:
    app, handle = await _to_review(skipping, api_url, org, session_factory, settings)
    reason = "Four liability claims in three years are more than this program covers."
    declined = await handle.execute_update(
        ApplicationWorkflow.review, ReviewDecision(approve=False, reason=reason)
    )
    assert (declined.status, declined.message, declined.redirect_url) == (
        "INELIGIBLE",
        reason,
        "https://platform.example/cancel",
    )
    state = await handle.result()
    await keep_history(handle, "application_manual_review_declined")
    assert (state.status, state.ended_reason) == ("INELIGIBLE", reason)
    row = row_of(session_factory, app.session_id)
    assert (row.status, row.ended_reason) == ("INELIGIBLE", reason)
    [event] = _api_get(api_url, org, "/events", type="application.ineligible")  # type: ignore[misc]
    assert (event["data"]["id"], event["data"]["reason"]) == (app.session_id, reason)
    [email] = _api_get(api_url, org, "/emails", kind="application_review_declined")  # type: ignore[misc]
    assert email["related"] == {"application_session": app.session_id}


async def test_the_lifetime_keeps_running_during_a_review(
    skipping: WorkflowEnvironment,
    api_url: str,
    org: Org,
    session_factory: sessionmaker[Session],
    settings: Settings,
) -> None:
    app, handle = await _to_review(skipping, api_url, org, session_factory, settings)
    state = await handle.result()  # nobody decides: the 3-day lifetime passes
    await keep_history(handle, "application_manual_review_expired")
    assert (state.status, row_of(session_factory, app.session_id).status) == ("EXPIRED", "EXPIRED")
    [expired] = _api_get(api_url, org, "/events", type="application.expired")  # type: ignore[misc]
    assert expired["data"]["id"] == app.session_id
    with pytest.raises((WorkflowUpdateFailedError, RPCError)):  # the workflow is closed: nothing to decide
        await handle.execute_update(ApplicationWorkflow.review, ReviewDecision(approve=True))


async def test_hiring_workers_or_lacking_a_license_stays_ineligible_whatever_the_claims(
    skipping: WorkflowEnvironment,
    api_url: str,
    org: Org,
    session_factory: sessionmaker[Session],
    settings: Settings,
) -> None:
    for answers, why in (
        (MANY_CLAIMS.model_copy(update={"hires_workers": True}), "work alone"),
        (MANY_CLAIMS.model_copy(update={"licensed_if_required": False}), "license"),
    ):
        app = await asyncio.to_thread(open_session, api_url, org, session_factory, settings)
        handle = await start(skipping, app)
        await handle.execute_update(ApplicationWorkflow.verify_info, own_details())  # two in one organization
        result = await handle.execute_update(ApplicationWorkflow.answer_questions, answers)
        assert result.status == "INELIGIBLE" and why in (result.message or "")
        assert (await handle.result()).status == "INELIGIBLE"


async def test_details_with_another_contractors_email_are_refused_not_retried(
    skipping: WorkflowEnvironment,
    api_url: str,
    org: Org,
    session_factory: sessionmaker[Session],
    settings: Settings,
) -> None:
    """Two contractors of one organization cannot share an email: the second one's correction is refused
    with a message the page shows, at once (it used to retry for ever and hold the step), and the step stays
    open for their own address."""
    first = await asyncio.to_thread(open_session, api_url, org, session_factory, settings)
    await (await start(skipping, first)).execute_update(ApplicationWorkflow.verify_info, DETAILS)
    second = await asyncio.to_thread(open_session, api_url, org, session_factory, settings)
    handle = await start(skipping, second)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await asyncio.wait_for(handle.execute_update(ApplicationWorkflow.verify_info, DETAILS), 30)
    assert "another contractor" in str(refusal_of(refused.value).message)
    assert row_of(session_factory, second.session_id).step == "verify_info"
    assert (await handle.execute_update(ApplicationWorkflow.verify_info, own_details())).step == (
        "application_questions"
    )
