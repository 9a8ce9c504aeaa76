"""A payment processor that stops answering while money moves: the money moves once.

Each flow runs on a worker of its own whose Stripe is a proxy in front of the test's localstripe
(tests/held_processor.py): it holds one request (the processor paused, as by SIGSTOP, does it when it
wakes up, though the caller gave up) or one answer (the money moved; the caller hears nothing) for longer
than the step's own timeout. Whatever the worker tried meanwhile, localstripe shows exactly one charge,
refund, hold or capture, and our payments table one row for it.

The local Stripe itself honours ``Idempotency-Key`` as Stripe does, so these tests would see a second
request that moved money again.
"""

import asyncio
import contextlib
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any, Literal

import httpx
import pytest
import stripe
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

import services.workflow_calls
from common.settings import Settings
from contracts.assignment import AssignmentInput, InvoiceAdjustment
from db.models import ApplicationSession, Assignment, Payment
from integrations.stripe_gateway import StripeGateway
from services.lookups import card_on_file
from tests.held_processor import HeldProcessor
from tests.support import Org, card, free_port, intents_of, raw_stripe, refunded_to, worker_running
from tests.test_application_workflow import open_session, start, to_final_review
from tests.test_assignment_workflow import charges, emails, make_assignment, status_of
from workflows.application import ApplicationWorkflow
from workflows.assignment import AssignmentWorkflow

# Longer than each step's start-to-close timeout (a charge or refund 30 s, an application's hold or capture
# 60 s): the worker gives up on the step, and tries again, while the processor still has the first request.
PAST_A_MONEY_STEP, PAST_A_CARD_STEP = 35, 65
Mode = Literal["request", "answer"]


@contextlib.contextmanager
def worker_behind(
    proxy: HeldProcessor, temporal_address: str, settings: Settings, factory: sessionmaker[Session]
) -> Iterator[str]:
    """A worker on a task queue of its own, whose Stripe is ``proxy``; yields the queue. Its requests to
    Stripe wait 3 s each and are not retried by the SDK: the step's retry asks the processor first."""
    queue = f"stalls-{uuid.uuid4().hex[:8]}"
    mine = settings.model_copy(
        update={
            "stripe_api_base": proxy.url,
            "task_queue": queue,
            "stripe_timeout_seconds": 3.0,
            "stripe_network_retries": 0,
        }
    )
    with worker_running(temporal_address, mine, factory):
        yield queue


@pytest.fixture
async def temporal(temporal_address: str) -> AsyncIterator[Client]:
    yield await Client.connect(temporal_address, data_converter=pydantic_data_converter)


def payments_keyed(factory: sessionmaker[Session], prefix: str) -> list[tuple[str, str | None]]:
    with factory() as session:
        rows = session.scalars(select(Payment).where(Payment.idempotency_key.startswith(prefix)))
        return [(row.status, row.payment_intent_id) for row in rows]


def refunds_of(localstripe: str, assignment_id: str) -> list[str]:
    refunds = raw_stripe(localstripe).v1.refunds.list(params={"limit": 100})  # type: ignore[attr-defined]
    return [
        r.id
        for r in refunds.auto_paging_iter()
        if (r.to_dict().get("metadata") or {}).get("assignment") == assignment_id
    ]


async def until(check: Any, timeout: float = 150) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await asyncio.to_thread(check):
        assert asyncio.get_running_loop().time() < deadline, "the flow never got there"
        await asyncio.sleep(0.5)


async def test_a_processor_that_stops_answering_mid_charge_or_mid_refund_moves_money_once(
    temporal: Client,
    temporal_address: str,
    api_url: str,
    org: Org,
    session_factory: sessionmaker[Session],
    settings: Settings,
    localstripe: str,
) -> None:
    factory = session_factory

    async def charge(mode: Mode) -> None:
        a = await asyncio.to_thread(make_assignment, api_url, org, factory, settings, localstripe)
        a = a.model_copy(update={"notice_seconds": 1})
        with (
            HeldProcessor(localstripe).running() as proxy,
            worker_behind(proxy, temporal_address, settings, factory) as queue,
        ):
            proxy.hold("POST", "/v1/payment_intents", PAST_A_MONEY_STEP, mode)
            handle = await temporal.start_workflow(
                AssignmentWorkflow.run, a, id=f"assignment-{a.assignment_id}", task_queue=queue
            )
            await until(lambda: status_of(factory, a.assignment_id) == "active")
            await asyncio.to_thread(proxy.settled)
            await asyncio.sleep(1)
            await handle.terminate("test over")
        moved = charges(localstripe, a)
        assert moved == [("succeeded", a.premium)], f"{mode}: {moved}"
        rows = payments_keyed(factory, f"assignment-{a.assignment_id}:charge")
        assert [status for status, _ in rows] == ["captured"], f"{mode}: {rows}"

    async def refund(mode: Mode) -> None:
        a = await asyncio.to_thread(make_assignment, api_url, org, factory, settings, localstripe)
        a = a.model_copy(update={"notice_seconds": 1})
        final = a.premium * 2 // 5
        with (
            HeldProcessor(localstripe).running() as proxy,
            worker_behind(proxy, temporal_address, settings, factory) as queue,
        ):
            handle = await temporal.start_workflow(
                AssignmentWorkflow.run, a, id=f"assignment-{a.assignment_id}", task_queue=queue
            )
            await until(lambda: status_of(factory, a.assignment_id) == "active")
            proxy.hold("POST", "/v1/refunds", PAST_A_MONEY_STEP, mode)
            result = await handle.execute_update(
                AssignmentWorkflow.adjust, InvoiceAdjustment(invoice_id="in_final", premium=final, sequence=1)
            )
            assert result.collected == final, mode
            await asyncio.to_thread(proxy.settled)
            await asyncio.sleep(1)
            await handle.terminate("test over")
        made = refunds_of(localstripe, a.assignment_id)
        assert len(made) == 1, f"{mode}: {made}"
        assert refunded_to(localstripe, a.assignment_id) == a.premium - final, mode
        rows = payments_keyed(factory, f"assignment-{a.assignment_id}:refund")
        assert rows == [("refunded", made[0])], f"{mode}: {rows}"

    await asyncio.gather(charge("request"), charge("answer"), refund("request"), refund("answer"))


async def test_a_processor_that_stops_answering_mid_hold_or_mid_capture_moves_money_once(
    temporal: Client,
    temporal_address: str,
    api_url: str,
    org: Org,
    session_factory: sessionmaker[Session],
    settings: Settings,
    localstripe: str,
) -> None:
    factory = session_factory

    async def application(step: str, path: str, mode: Mode) -> None:
        app = await asyncio.to_thread(open_session, api_url, org, factory, settings)
        card_id = await asyncio.to_thread(card, localstripe, "4242424242424242")
        with (
            HeldProcessor(localstripe).running() as proxy,
            worker_behind(proxy, temporal_address, settings, factory) as queue,
        ):
            proxy.hold("POST", path, PAST_A_CARD_STEP, mode)
            handle = await start(temporal, app, task_queue=queue)
            await to_final_review(handle, card_id)
            done = await handle.execute_update(ApplicationWorkflow.complete)
            assert done.status == "APPLICATION_COMPLETE", step
            await asyncio.to_thread(proxy.settled)
            await asyncio.sleep(1)
        intents = intents_of(localstripe, app.session_id)
        assert intents == [("succeeded", app.premium)], f"{step}: {intents}"
        rows = payments_keyed(factory, f"application-{app.session_id}:")
        assert [status for status, _ in rows] == ["captured"], f"{step}: {rows}"

    await asyncio.gather(
        application("hold", r"/v1/payment_intents/[^/]+/confirm", "answer"),
        application("capture", r"/v1/payment_intents/[^/]+/capture", "request"),
    )


@pytest.fixture
def own_localstripe() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A localstripe process of the test's own (``make run``'s launcher), so the test can pause it."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "devstack.localstripe_server", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
        assert process.poll() is None and time.monotonic() < deadline, "localstripe did not start"
        time.sleep(0.1)
    try:
        yield f"http://127.0.0.1:{port}", process
    finally:
        process.send_signal(signal.SIGCONT)
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.one_database
async def test_the_processor_paused_as_the_charge_falls_due_charges_once(
    temporal: Client,
    temporal_address: str,
    api_url: str,
    org: Org,
    session_factory: sessionmaker[Session],
    settings: Settings,
    own_localstripe: tuple[str, subprocess.Popen[bytes]],
) -> None:
    """The issue's own reproduction: the local Stripe SIGSTOPped for 40 s just as a repeat assignment's
    charge falls due (longer than the charge step's 30 s), then SIGCONTed: one charge, one payments row."""
    base, process = own_localstripe
    mine = settings.model_copy(
        update={"stripe_api_base": base, "stripe_timeout_seconds": 3.0, "stripe_network_retries": 0}
    )
    factory = session_factory
    a = await asyncio.to_thread(make_assignment, api_url, org, factory, mine, base)
    a = a.model_copy(update={"notice_seconds": 3})
    queue = f"stalls-{uuid.uuid4().hex[:8]}"
    with worker_running(temporal_address, mine.model_copy(update={"task_queue": queue}), factory):
        handle = await temporal.start_workflow(
            AssignmentWorkflow.run, a, id=f"assignment-{a.assignment_id}", task_queue=queue
        )
        await until(lambda: "assignment_charge_reminder" in emails(factory, a.assignment_id), 30)
        process.send_signal(signal.SIGSTOP)
        try:
            await asyncio.sleep(PAST_A_MONEY_STEP + 5)
        finally:
            process.send_signal(signal.SIGCONT)
        await until(lambda: status_of(factory, a.assignment_id) == "active", 90)
        await asyncio.sleep(2)
        await handle.terminate("test over")
    assert charges(base, a) == [("succeeded", a.premium)]
    rows = payments_keyed(factory, f"assignment-{a.assignment_id}:charge")
    assert [status for status, _ in rows] == ["captured"], rows


@pytest.mark.one_database
async def test_an_invoice_whose_update_outlives_the_request_is_accepted_and_replayed(
    temporal: Client,
    temporal_address: str,
    api_url: str,
    org: Org,
    session_factory: sessionmaker[Session],
    settings: Settings,
    localstripe: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """POST /invoices lowers the premium after the charge; the refund waits on a processor that stopped
    answering, so the workflow's answer comes after the request's own wait. The invoice is kept: the answer
    is 202 with the invoice, the same request with the same Idempotency-Key gets the same answer again
    (not a second invoice), and once the processor answers, the difference is refunded once."""
    monkeypatch.setattr(services.workflow_calls, "UPDATE_TIMEOUT", 3.0)
    factory = session_factory
    a = await asyncio.to_thread(make_assignment, api_url, org, factory, settings, localstripe)
    a = a.model_copy(update={"notice_seconds": 1})
    with (
        HeldProcessor(localstripe).running() as proxy,
        worker_behind(proxy, temporal_address, settings, factory) as queue,
    ):
        handle = await temporal.start_workflow(
            AssignmentWorkflow.run, a, id=f"assignment-{a.assignment_id}", task_queue=queue
        )
        await until(lambda: status_of(factory, a.assignment_id) == "active")
        proxy.hold("POST", "/v1/refunds", 15, "request")
        async with httpx.AsyncClient(
            base_url=f"{api_url}/api/v1", auth=(org.sandbox_key, ""), timeout=60
        ) as http:
            contractor, job = await asyncio.to_thread(_contractor_and_job, factory, a)
            body = {
                "contractor": contractor,
                "job": job,
                "gross_pay": 20_000,
                "paycycle_startdate": 1714419793,
                "paycycle_enddate": 1714419793,
            }
            key = {"Idempotency-Key": f"final-pay-{uuid.uuid4().hex}"}
            first = await http.post("/invoices", json=body, headers=key)
            assert first.status_code == 202, first.text
            invoice = first.json()
            assert invoice["object"] == "invoice" and invoice["status"] == "open"
            again = await http.post("/invoices", json=body, headers=key)
            assert (again.status_code, again.json()) == (202, invoice), again.text
            assert again.headers.get("idempotent-replayed") == "true"
            listed = (await http.get("/invoices", params={"contractor": contractor})).json()
            assert [(i["id"], i["status"]) for i in listed] == [(invoice["id"], "open")]
            await asyncio.to_thread(proxy.settled)
            final = invoice["premium_due"]
            await until(lambda: refunded_to(localstripe, a.assignment_id) == a.premium - final, 60)
            state = await handle.query(AssignmentWorkflow.state)
            assert state.collected == final
        await handle.terminate("test over")
    assert len(refunds_of(localstripe, a.assignment_id)) == 1


@pytest.mark.one_database
async def test_a_cancellation_whose_refund_waits_on_the_processor_is_accepted_and_replayed(
    temporal: Client,
    temporal_address: str,
    api_url: str,
    org: Org,
    session_factory: sessionmaker[Session],
    settings: Settings,
    localstripe: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """POST /assignments/cancel after the charge; the refund waits on a processor that stopped answering,
    so the workflow finishes the cancellation after the request's own wait. The cancellation is kept (the
    workflow took it and cannot take it back): 202 with the cancelled assignment, the same request with the
    same Idempotency-Key gets the same answer again, and once the processor answers, the premium is
    refunded once and the assignment shows it. Before, the answer was a 503 for a change that was kept."""
    monkeypatch.setattr(services.workflow_calls, "UPDATE_TIMEOUT", 3.0)
    factory = session_factory
    a = await asyncio.to_thread(make_assignment, api_url, org, factory, settings, localstripe)
    a = a.model_copy(update={"notice_seconds": 1})
    with factory() as session:  # it starts later: a cancellation is still allowed
        session.execute(
            update(Assignment)
            .where(Assignment.id == a.assignment_id)
            .values(effective_date=int(time.time()) + 3 * 86_400)
        )
        session.commit()
    with (
        HeldProcessor(localstripe).running() as proxy,
        worker_behind(proxy, temporal_address, settings, factory) as queue,
    ):
        handle = await temporal.start_workflow(
            AssignmentWorkflow.run, a, id=f"assignment-{a.assignment_id}", task_queue=queue
        )
        await until(lambda: status_of(factory, a.assignment_id) == "active")
        proxy.hold("POST", "/v1/refunds", 15, "request")
        async with httpx.AsyncClient(
            base_url=f"{api_url}/api/v1", auth=(org.sandbox_key, ""), timeout=60
        ) as http:
            _, job = await asyncio.to_thread(_contractor_and_job, factory, a)
            body = {"job_id": job, "reason": "client_request"}
            key = {"Idempotency-Key": f"cancel-{uuid.uuid4().hex}"}
            first = await http.post("/assignments/cancel", json=body, headers=key)
            assert first.status_code == 202, first.text
            cancelled = first.json()
            assert (cancelled["id"], cancelled["status"]) == (a.assignment_id, "cancelled")
            again = await http.post("/assignments/cancel", json=body, headers=key)
            assert (again.status_code, again.json()) == (202, cancelled), again.text
            assert again.headers.get("idempotent-replayed") == "true"
            await asyncio.to_thread(proxy.settled)
            await until(lambda: refunded_to(localstripe, a.assignment_id) == a.premium, 60)
            await until(
                lambda: (
                    httpx.get(
                        f"{api_url}/api/v1/assignments/{a.assignment_id}", auth=(org.sandbox_key, "")
                    ).json()["premium_collected"]
                    == 0
                ),
                30,
            )
            shown = await http.get(f"/assignments/{a.assignment_id}")
            assert shown.json()["status"] == "cancelled"
        await handle.result()
    assert len(refunds_of(localstripe, a.assignment_id)) == 1


@pytest.mark.one_database
async def test_new_terms_while_the_charge_waits_on_the_processor_are_accepted_and_replayed(
    temporal: Client,
    temporal_address: str,
    api_url: str,
    org: Org,
    session_factory: sessionmaker[Session],
    settings: Settings,
    localstripe: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """PUT /assignments/{id} with a new end date while the assignment's charge waits on a processor that
    stopped answering: the workflow takes the new terms but binds them only after that charge, so its answer
    comes after the request's own wait. The answer is 202 with the assignment, the same request with the same
    Idempotency-Key gets it again (not a second re-binding and notice), and once the processor answers, the
    charge under way collects the premium once and the terms it was charged for stay. Before, a 503 asked
    the platform to try again, and trying again took the terms a second time."""
    monkeypatch.setattr(services.workflow_calls, "UPDATE_TIMEOUT", 3.0)
    factory = session_factory
    a = await asyncio.to_thread(make_assignment, api_url, org, factory, settings, localstripe)
    a = a.model_copy(update={"notice_seconds": 3})
    with (
        HeldProcessor(localstripe).running() as proxy,
        worker_behind(proxy, temporal_address, settings, factory) as queue,
    ):
        proxy.hold("POST", "/v1/payment_intents", 15, "request")
        handle = await temporal.start_workflow(
            AssignmentWorkflow.run, a, id=f"assignment-{a.assignment_id}", task_queue=queue
        )
        await until(lambda: proxy.held > 0, 30)
        async with httpx.AsyncClient(
            base_url=f"{api_url}/api/v1", auth=(org.sandbox_key, ""), timeout=60
        ) as http:
            body = {"end_date": a.ends_at - 7 * 86_400}  # within its policy: re-bound, no application
            key = {"Idempotency-Key": f"rebind-{uuid.uuid4().hex}"}
            first = await http.put(f"/assignments/{a.assignment_id}", json=body, headers=key)
            assert first.status_code == 202, first.text
            taken = first.json()
            assert taken["id"] == a.assignment_id
            again = await http.put(f"/assignments/{a.assignment_id}", json=body, headers=key)
            assert (again.status_code, again.json()) == (202, taken), again.text
            assert again.headers.get("idempotent-replayed") == "true"
            await asyncio.to_thread(proxy.settled)
            await until(lambda: status_of(factory, a.assignment_id) == "active", 60)
            shown = (await http.get(f"/assignments/{a.assignment_id}")).json()
            assert (shown["premium_collected"], shown["end_date"]) == (a.premium, a.ends_at), shown
        await handle.terminate("test over")
    assert charges(localstripe, a) == [("succeeded", a.premium)]


@pytest.mark.one_database
async def test_completing_an_application_while_the_processor_is_slow_says_it_will_finish(
    temporal: Client,
    temporal_address: str,
    api_url: str,
    org: Org,
    session_factory: sessionmaker[Session],
    settings: Settings,
    localstripe: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The contractor clicks "Complete application" while the processor sits on the capture: the page says
    it is working, and, once the page's wait is over, that it will finish by itself and email them (not a
    500, not "try again"); it does finish, with one capture."""
    monkeypatch.setattr(services.workflow_calls, "UPDATE_TIMEOUT", 3.0)
    factory = session_factory
    app = await asyncio.to_thread(open_session, api_url, org, factory, settings)
    card_id = await asyncio.to_thread(card, localstripe, "4242424242424242")
    with factory() as session:
        token = session.scalar(
            select(ApplicationSession.token).where(ApplicationSession.id == app.session_id)
        )
    with (
        HeldProcessor(localstripe).running() as proxy,
        worker_behind(proxy, temporal_address, settings, factory) as queue,
    ):
        handle = await start(temporal, app, task_queue=queue)
        await to_final_review(handle, card_id)
        proxy.hold("POST", r"/v1/payment_intents/[^/]+/capture", 20, "request")
        async with httpx.AsyncClient(base_url=api_url, timeout=60) as browser:
            page = await browser.get(f"/apply/{token}")
            assert "Review and complete" in page.text
            assert re.search(r'role="status"[^>]*hidden>Completing your application and charging', page.text)
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            assert csrf
            done = await browser.post(f"/apply/{token}/final_review", data={"csrf_token": csrf.group(1)})
            assert done.status_code == 303, done.text
            shown = await browser.get(done.headers["location"])
            assert "We are still completing your application" in shown.text
            assert "we will email you when it is done" in shown.text
        await asyncio.to_thread(proxy.settled)
        await until(lambda: _completed(factory, app.session_id), 60)
    assert intents_of(localstripe, app.session_id) == [("succeeded", app.premium)]
    assert [status for status, _ in payments_keyed(factory, f"application-{app.session_id}:")] == ["captured"]


def _completed(factory: sessionmaker[Session], session_id: str) -> bool:
    with factory() as session:
        row = session.scalar(select(ApplicationSession).where(ApplicationSession.id == session_id))
        return row is not None and row.status == "APPLICATION_COMPLETE"


def _contractor_and_job(factory: sessionmaker[Session], a: AssignmentInput) -> tuple[str, str]:
    from db.models import Assignment

    with factory() as session:
        row = session.scalar(select(Assignment).where(Assignment.id == a.assignment_id))
        assert row is not None
        return row.contractor_id, row.job_id


def test_a_retry_asks_the_processor_what_its_key_already_charged(
    session_factory: sessionmaker[Session], settings: Settings, localstripe: str, api_url: str, org: Org
) -> None:
    """Stripe forgets an idempotency key after 24 hours, and a processor may not keep it at all: a retry
    whose first attempt's answer was lost finds the charge by the key in its metadata, and charges nothing."""
    a = make_assignment(api_url, org, session_factory, settings, localstripe)
    with session_factory() as session:
        source = card_on_file(session, a.contractor_id)
        assert source and source.stripe_customer_id and source.payment_method_id
        customer, method = source.stripe_customer_id, source.payment_method_id
    key = f"assignment-{a.assignment_id}:charge:r0:c0"
    # The first attempt's charge, made under a key the processor no longer knows.
    made = raw_stripe(localstripe).v1.payment_intents.create(  # type: ignore[attr-defined]
        params={
            "amount": a.premium,
            "currency": "usd",
            "customer": customer,
            "payment_method": method,
            "off_session": True,
            "confirm": True,
            "payment_method_types": ["card"],
            "metadata": {"assignment": a.assignment_id, "idempotency_key": key},
        },
        options={"idempotency_key": f"forgotten-{uuid.uuid4().hex}"},
    )
    gateway = StripeGateway(settings)
    again = gateway.charge_saved_card(
        customer, method, a.premium, {"assignment": a.assignment_id}, key, look_first=True
    )
    assert again == made.id
    assert charges(localstripe, a) == [("succeeded", a.premium)]


def test_the_local_stripe_honours_idempotency_keys_as_stripe_does(localstripe: str) -> None:
    """Same key and request: the first answer again; same key, another request: an error; a request still
    running: 409. (localstripe alone ignores the key and charges twice.)"""
    client = raw_stripe(localstripe)
    customer = client.v1.customers.create(params={"email": "jane@example.com"})  # type: ignore[attr-defined]
    method = card(localstripe, "4242424242424242")
    client.v1.payment_methods.attach(method, params={"customer": customer.id})  # type: ignore[attr-defined]
    charge = {
        "amount": 1500,
        "currency": "usd",
        "customer": customer.id,
        "payment_method": method,
        "off_session": True,
        "confirm": True,
        "payment_method_types": ["card"],
    }
    key = {"idempotency_key": f"charge-{uuid.uuid4().hex}"}
    first = client.v1.payment_intents.create(params=charge, options=key)  # type: ignore[attr-defined]
    second = client.v1.payment_intents.create(params=charge, options=key)  # type: ignore[attr-defined]
    assert second.id == first.id
    assert second.last_response.headers.get("idempotent-replayed") == "true"
    listed = client.v1.payment_intents.list(params={"customer": customer.id})  # type: ignore[attr-defined]
    assert [pi.id for pi in listed.data] == [first.id]
    with pytest.raises(stripe.IdempotencyError) as other:
        client.v1.payment_intents.create(params={**charge, "amount": 1600}, options=key)  # type: ignore[attr-defined]
    assert other.value.http_status == 400

    # A decline is kept too: the same request again is the same decline, not a second try.
    declining = card(localstripe, "4000000000000341")
    client.v1.payment_methods.attach(declining, params={"customer": customer.id})  # type: ignore[attr-defined]
    key = {"idempotency_key": f"charge-{uuid.uuid4().hex}"}
    for _ in range(2):
        with pytest.raises(stripe.CardError):
            client.v1.payment_intents.create(  # type: ignore[attr-defined]
                params={**charge, "payment_method": declining}, options=key
            )
    assert len(client.v1.payment_intents.list(params={"customer": customer.id}).data) == 2  # type: ignore[attr-defined]

    # While the first request is still arriving, the same key is in use.
    headers = {"Authorization": "Bearer sk_test_from_tests"}
    with httpx.Client(base_url=localstripe, headers=headers) as http:
        host, port = localstripe.removeprefix("http://").split(":")
        body = b"email=slow%40example.com"
        with socket.create_connection((host, int(port))) as slow:
            slow.sendall(
                b"POST /v1/customers HTTP/1.1\r\nHost: x\r\nIdempotency-Key: in-use-key\r\n"
                b"Authorization: Bearer sk_test_from_tests\r\n"
                b"Content-Type: application/x-www-form-urlencoded\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body[:5]
            )
            clash = _eventually_in_use(http, body)
            assert clash.status_code == 409, clash.text
            assert clash.json()["error"]["code"] == "idempotency_key_in_use"
            slow.sendall(body[5:])
            assert b" 200 " in slow.recv(65536).split(b"\r\n")[0] + b" "


def _eventually_in_use(http: httpx.Client, body: bytes) -> httpx.Response:
    deadline = time.monotonic() + 5
    while True:
        response = http.post(
            "/v1/customers",
            content=body,
            headers={"Idempotency-Key": "in-use-key", "Content-Type": "application/x-www-form-urlencoded"},
        )
        if response.status_code == 409 or time.monotonic() > deadline:
            return response
        time.sleep(0.05)
