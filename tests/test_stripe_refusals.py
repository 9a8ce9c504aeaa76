"""Stripe's refusals (a 4xx: no such PaymentMethod, a customer or hold it no longer has) are final, against
the real server, worker (or a time-skipping one) and localstripe: the application's card step answers a
card id Stripe does not know at once, with a message, and takes the real card next; a charge to a card
Stripe no longer has fails with the charge-failure email; a hold Stripe will not capture sends the
contractor back to the card step; a renewal Stripe refuses keeps the hold there is. Before, each was retried
forever, and the contractor's next request waited for it. (No browser here: Playwright's sync API holds an
event loop that the time-skipping test cannot share.)"""

import asyncio
import re
import time
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from api.main import create_app
from common.settings import Settings
from contracts.application import application_workflow_id
from db.models import ApplicationSession
from tests.histories import keep_history
from tests.support import (
    Org,
    SmtpSink,
    assignment_request,
    card,
    contractor_fields,
    entity_fields,
    eventually,
    free_port,
    intents_of,
    job_fields,
    raw_stripe,
    serve,
    unique_email,
)
from tests.test_application_flow import CANCEL, SUCCESS, _answer_questions, _post
from tests.test_application_workflow import DAY, open_session, row_of, start, to_final_review
from tests.test_assignment_workflow import save_card
from tests.test_card_links import GOOD, _email, _status
from workflows.application import ApplicationWorkflow

pytestmark = pytest.mark.usefixtures("worker")


@pytest.fixture(scope="module")
def charging_api(settings: Settings) -> Iterator[str]:
    """An API whose assignments charge one second after the reminder, to watch a charge fail in real time."""
    port = free_port()
    fast = settings.model_copy(
        update={"assignment_notice_seconds": 1, "public_base_url": f"http://127.0.0.1:{port}"}
    )
    with serve(create_app(fast), port, fast) as url:
        yield url


def test_a_card_id_stripe_does_not_know_is_refused_at_once_and_the_application_goes_on(
    api_url: str, org: Org, localstripe: str
) -> None:
    with (
        httpx.Client(base_url=f"{api_url}/api/v1", auth=(org.sandbox_key, ""), timeout=30) as http,
        httpx.Client(base_url=api_url, timeout=20) as browser,
    ):
        entity = http.post("/entities", json=entity_fields()).json()["id"]
        contractor = http.post("/contractors", json=contractor_fields()).json()["id"]
        job = http.post("/jobs", json=job_fields(entity)).json()["id"]
        quote = http.post(
            "/quotes",
            json={"contractor": contractor, "job": job, "coverage_type": ["general", "workers-comp"]},
        ).json()
        session = http.post(
            "/apply/sessions", json={"quote": quote["id"], "success_url": SUCCESS, "cancel_url": CANCEL}
        ).json()
        base = _answer_questions(browser, session["url"])
        _post(browser, f"{base}/esignature_document", {"typed_name": "Jane Doe", "consent": "yes"})
        assert "Add a card" in browser.get(base).text

        started = time.monotonic()
        bogus = _post(browser, f"{base}/add_card_details", {"payment_method_id": "pm_does_not_exist"})
        assert time.monotonic() - started < 10  # Stripe's "no such PaymentMethod" is final: no retrying
        page = browser.get(bogus.headers["location"])
        assert page.status_code == 200 and "Add a card" in page.text
        assert re.search(r'role="alert">We could not use this card\.', page.text), page.text
        assert http.get(f"/apply/sessions/{session['id']}").json()["step"] == "add_card_details"

        started = time.monotonic()
        _post(browser, f"{base}/add_card_details", {"payment_method_id": card(localstripe, GOOD)})
        assert time.monotonic() - started < 10
        assert "Review and complete" in browser.get(base).text
        assert _post(browser, f"{base}/final_review", {}).headers["location"] == SUCCESS
        assert http.get(f"/apply/sessions/{session['id']}").json()["status"] == "APPLICATION_COMPLETE"
    assert intents_of(localstripe, session["id"]) == [("succeeded", quote["premium_due"])]


def test_a_charge_to_a_card_stripe_no_longer_has_fails_with_a_notice_instead_of_retrying(
    charging_api: str,
    api_url: str,
    org: Org,
    settings: Settings,
    session_factory: sessionmaker[Session],
    localstripe: str,
    smtp_sink: SmtpSink,
) -> None:
    email = unique_email("gone")
    with httpx.Client(base_url=f"{charging_api}/api/v1", auth=(org.sandbox_key, ""), timeout=30) as http:
        entity = http.post("/entities", json=entity_fields()).json()["id"]
        contractor = http.post("/contractors", json=contractor_fields(email=email)).json()["id"]
        job = http.post("/jobs", json=job_fields(entity)).json()["id"]
        quote = http.post(
            "/quotes", json={"contractor": contractor, "job": job, "coverage_type": ["workers-comp"]}
        ).json()
        http.post("/policies", json={"quote": quote["id"]})
        save_card(session_factory, settings, org, contractor, GOOD, localstripe)
        with session_factory() as session:  # the card on file is one Stripe no longer has
            session.execute(
                update(ApplicationSession)
                .where(ApplicationSession.contractor_id == contractor)
                .values(payment_method_id="pm_removed_at_stripe")
            )
            session.commit()
        assignment = http.post("/assignments", json=assignment_request(contractor, job, quote)).json()
    text = _email(smtp_sink, "assignment_charge_failure", email)
    assert "could not be used" in text and "/my" in text  # a new card: in the contractor's portal
    eventually(lambda: _status(api_url, org, assignment["id"]) == "charge_failed")


def test_a_hold_stripe_no_longer_has_sends_the_contractor_back_to_the_card_step(
    api_url: str, org: Org, localstripe: str, temporal_address: str
) -> None:
    with (
        httpx.Client(base_url=f"{api_url}/api/v1", auth=(org.sandbox_key, ""), timeout=30) as http,
        httpx.Client(base_url=api_url, timeout=20) as browser,
    ):
        entity = http.post("/entities", json=entity_fields()).json()["id"]
        contractor = http.post("/contractors", json=contractor_fields()).json()["id"]
        job = http.post("/jobs", json=job_fields(entity)).json()["id"]
        quote = http.post(
            "/quotes", json={"contractor": contractor, "job": job, "coverage_type": ["general"]}
        ).json()
        session = http.post(
            "/apply/sessions", json={"quote": quote["id"], "success_url": SUCCESS, "cancel_url": CANCEL}
        ).json()
        base = _answer_questions(browser, session["url"])
        _post(browser, f"{base}/esignature_document", {"typed_name": "Jane Doe", "consent": "yes"})
        assert "Add a card" in browser.get(base).text
        _post(browser, f"{base}/add_card_details", {"payment_method_id": card(localstripe, GOOD)})
        assert "Review and complete" in browser.get(base).text

        intents = raw_stripe(localstripe).v1.payment_intents.list(params={"limit": 100})  # type: ignore[attr-defined]
        [hold] = [
            pi
            for pi in intents.auto_paging_iter()
            if pi.to_dict().get("metadata", {}).get("session") == session["id"]
        ]
        raw_stripe(localstripe).v1.payment_intents.cancel(hold.id)  # type: ignore[attr-defined]  # it lapsed

        started = time.monotonic()
        refused = _post(browser, f"{base}/final_review", {})
        assert time.monotonic() - started < 10  # Stripe's "not capturable" is final: no retrying
        page = browser.get(refused.headers["location"])
        assert "Add a card" in page.text and "pre-authorization on your card has ended" in page.text
        done = http.get(f"/apply/sessions/{session['id']}").json()
        assert (done["step"], done["status"], done["policy"]) == ("add_card_details", "IN_PROGRESS", None)

        _post(browser, f"{base}/add_card_details", {"payment_method_id": card(localstripe, GOOD)})
        assert "Review and complete" in browser.get(base).text
        assert _post(browser, f"{base}/final_review", {}).headers["location"] == SUCCESS
    assert intents_of(localstripe, session["id"]) == [
        ("canceled", quote["premium_due"]),
        ("succeeded", quote["premium_due"]),
    ]

    async def record() -> None:
        client = await Client.connect(temporal_address, data_converter=pydantic_data_converter)
        handle = client.get_workflow_handle(application_workflow_id(session["id"]))
        await keep_history(handle, "application_capture_refused_back_to_card")

    asyncio.run(record())


async def test_a_renewal_stripe_refuses_keeps_the_hold_and_the_application_completes(
    skipping: WorkflowEnvironment,
    api_url: str,
    org: Org,
    session_factory: sessionmaker[Session],
    settings: Settings,
    localstripe: str,
) -> None:
    app = await asyncio.to_thread(open_session, api_url, org, session_factory, settings, lifetime=12 * DAY)
    handle = await start(skipping, app)
    await to_final_review(handle, await asyncio.to_thread(card, localstripe, GOOD))
    customer = row_of(session_factory, app.session_id).stripe_customer_id
    raw_stripe(localstripe).v1.customers.delete(customer)  # type: ignore[attr-defined]  # gone at Stripe
    await skipping.sleep(6 * DAY)  # the hold's renewal is due: Stripe refuses it (no such customer)

    async def refused() -> bool:
        history = await handle.fetch_history()
        return any(e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED for e in history.events)

    deadline = time.monotonic() + 15
    while not await refused():
        assert time.monotonic() < deadline, "the refused renewal never ended (retried forever?)"
        await asyncio.sleep(0.2)
    result = await asyncio.wait_for(handle.execute_update(ApplicationWorkflow.complete), 30)
    assert result.status == "APPLICATION_COMPLETE"  # with the hold it had: the run goes on
    assert intents_of(localstripe, app.session_id) == [("succeeded", app.premium)]
    await keep_history(handle, "application_renewal_refused_kept_hold")
