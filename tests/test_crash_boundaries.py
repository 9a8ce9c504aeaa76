"""The worker SIGKILLed at every activity boundary of the card-paid assignment flow and of the card-paid
application flow, then replaced by a fresh `worker.py`: every flow completes, with exactly one capture or
charge in localstripe, one set of certificates and one of each event.

Each boundary is two moments (tests/crashing_worker.py): just as the activity starts, and just after its
work is done but before Temporal has heard back (so the activity runs again on the next worker). Killed
mid-activity, the work is retried once its 30 s start-to-close timeout passes, so the cases run side by
side, each flow on a task queue of its own with its own worker processes.
"""

import asyncio
import contextlib
import signal
import subprocess
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError

from common.settings import Settings
from contracts.assignment import COVERED, AssignmentInput, Coverage, InvoiceAdjustment
from db.models import Assignment, Document, EmailMessage, Policy
from integrations.stripe_gateway import StripeGateway
from services.lookups import card_on_file
from tests.support import Org, card, intents_of, refunded_to
from tests.test_application_workflow import open_session, start, to_final_review, worker_processes
from tests.test_assignment_workflow import charges, make_assignment, status_of
from workflows.application import ApplicationWorkflow
from workflows.assignment import AssignmentWorkflow

MOMENTS = ("before", "after")
ASSIGNMENT_ACTIVITIES = (
    "bind_assignment_coverage",
    "send_assignment_email",  # the charge reminder
    "charge_card",
    "record_assignment_progress",  # active, with assignment.active
)
APPLICATION_ACTIVITIES = (
    "save_details",
    "save_answers",
    "save_signature",
    "authorize_card",
    "capture_payment",
    "bind_policy",
    "complete_application",
    "hand_over_engagement",  # the first job's assignment, and its workflow signalled
    "record_event",  # application.complete
    "send_payment_confirmation",
)
SESSION = "application_session"
SIDE_BY_SIDE = 9  # flows at once: each has a worker process or two


def boundaries(activities: tuple[str, ...]) -> list[str]:
    return [f"{moment}:{name}" for name in activities for moment in MOMENTS]


@dataclass
class Stack:
    client: Client
    temporal_address: str
    api_url: str
    org: Org
    factory: sessionmaker[Session]
    settings: Settings
    localstripe: str
    database_url: str

    def events(self, event_type: str, object_id: str, field: str = "id") -> int:
        page = httpx.get(
            f"{self.api_url}/api/v1/events",
            params={"type": event_type, "limit": 100},
            auth=(self.org.sandbox_key, ""),
            timeout=30,
        ).json()
        return sum(e["data"].get(field) == object_id for e in page)

    def documents_named(self, filename: str) -> int:
        with self.factory() as session:
            return session.scalar(select(func.count()).where(Document.filename == filename)) or 0


@pytest.fixture
async def stack(
    temporal_address: str,
    api_url: str,
    org: Org,
    session_factory: sessionmaker[Session],
    settings: Settings,
    localstripe: str,
    database_url: str,
) -> Stack:
    client = await Client.connect(temporal_address, data_converter=pydantic_data_converter)
    return Stack(client, temporal_address, api_url, org, session_factory, settings, localstripe, database_url)


async def start_assignment(
    client: Client, a: AssignmentInput, queue: str, **options: Any
) -> WorkflowHandle[Any, Any]:
    return await client.start_workflow(
        AssignmentWorkflow.run, a, id=f"assignment-{a.assignment_id}", task_queue=queue, **options
    )


async def crash_then_recover(
    stack: Stack,
    boundary: str,
    run: Callable[[str], Awaitable[WorkflowHandle[Any, Any]]],
    finished: Callable[[WorkflowHandle[Any, Any]], Awaitable[bool]],
) -> None:
    """Start the flow on a worker trapped at ``boundary``; once it has died there, a plain worker finishes."""
    queue = f"crash-{uuid.uuid4().hex[:8]}"
    spawn = worker_processes(
        queue, stack.database_url, stack.temporal_address, stack.localstripe, stack.settings
    )
    first: subprocess.Popen[bytes] = spawn(boundary)
    second: subprocess.Popen[bytes] | None = None
    handle = await run(queue)
    try:
        code = await asyncio.to_thread(first.wait, 90)
        assert code == -signal.SIGKILL, f"{boundary}: the trapped worker exited with {code}"
        second = spawn()
        deadline = time.monotonic() + 150
        while not await finished(handle):
            assert time.monotonic() < deadline, f"{boundary}: the flow never finished after the crash"
            await asyncio.sleep(0.5)
    finally:
        for worker in (first, second):
            if worker is not None and worker.poll() is None:
                worker.terminate()
                await asyncio.to_thread(worker.wait, 20)
        with contextlib.suppress(RPCError):  # an application's workflow ends by itself once complete
            await handle.terminate("test over")


async def all_boundaries(cases: list[str], one: Callable[[str], Awaitable[None]]) -> None:
    """Runs every case side by side (a few at a time) and reports every failure, not just the first."""
    gate = asyncio.Semaphore(SIDE_BY_SIDE)

    async def gated(boundary: str) -> None:
        async with gate:
            await one(boundary)

    results = await asyncio.gather(*(gated(b) for b in cases), return_exceptions=True)
    failures = [
        f"{b}: {''.join(traceback.format_exception(r)[-3:])}"
        for b, r in zip(cases, results, strict=True)
        if isinstance(r, BaseException)
    ]
    assert not failures, "\n".join(failures)


async def test_the_worker_killed_at_each_boundary_of_a_card_paid_assignment(stack: Stack) -> None:
    client, api_url, org, settings = stack.client, stack.api_url, stack.org, stack.settings
    session_factory, localstripe = stack.factory, stack.localstripe

    async def one(boundary: str) -> None:
        a = await asyncio.to_thread(make_assignment, api_url, org, session_factory, settings, localstripe)
        a = a.model_copy(update={"notice_seconds": 1})

        async def run(queue: str) -> WorkflowHandle[Any, Any]:
            return await start_assignment(client, a, queue)

        async def finished(_handle: WorkflowHandle[Any, Any]) -> bool:
            return await asyncio.to_thread(
                lambda: (
                    status_of(session_factory, a.assignment_id) == "active"
                    and stack.events("assignment.active", a.assignment_id) > 0
                    and _emails(session_factory, a.assignment_id, "payment_confirmation") > 0
                )
            )

        await crash_then_recover(stack, boundary, run, finished)
        assert charges(localstripe, a) == [("succeeded", a.premium)], boundary
        assert stack.events("assignment.active", a.assignment_id) == 1, boundary
        assert _emails(session_factory, a.assignment_id, "assignment_charge_reminder") == 1, boundary
        assert _emails(session_factory, a.assignment_id, "payment_confirmation") == 1, boundary

    await all_boundaries(boundaries(ASSIGNMENT_ACTIVITIES), one)


async def test_the_worker_killed_at_each_boundary_of_a_card_paid_application(stack: Stack) -> None:
    client, api_url, org, settings = stack.client, stack.api_url, stack.org, stack.settings
    session_factory, localstripe = stack.factory, stack.localstripe

    async def one(boundary: str) -> None:
        app = await asyncio.to_thread(open_session, api_url, org, session_factory, settings)
        card_id = await asyncio.to_thread(card, localstripe, "4242424242424242")
        completing: list[asyncio.Task[Any]] = []

        async def run(queue: str) -> WorkflowHandle[Any, Any]:
            handle = await start(client, app, task_queue=queue)

            async def contractor() -> Any:  # the hosted pages, as the contractor clicks through them
                await to_final_review(handle, card_id)
                return await handle.execute_update(ApplicationWorkflow.complete)

            completing.append(asyncio.create_task(contractor()))
            return handle

        async def finished(_handle: WorkflowHandle[Any, Any]) -> bool:
            if not completing[0].done():
                return False
            assert completing[0].result().status == "APPLICATION_COMPLETE"
            return await asyncio.to_thread(
                _emails, session_factory, app.session_id, "payment_confirmation", SESSION
            )

        await crash_then_recover(stack, boundary, run, finished)
        assert intents_of(localstripe, app.session_id) == [("succeeded", app.premium)], boundary
        policies = httpx.get(
            f"{api_url}/api/v1/policies",
            params={"contractor": app.contractor_id},
            auth=(org.sandbox_key, ""),
            timeout=30,
        ).json()
        assert len(policies) == 1, boundary
        policy = policies[0]["id"]
        assert stack.documents_named(f"certificate-{policy}-WC.pdf") == 1, boundary  # workers' comp only
        assert stack.events("application.complete", app.session_id) == 1, boundary
        assert stack.events("policy.active", policy) == 1, boundary
        assert _emails(session_factory, app.session_id, "payment_confirmation", SESSION) == 1, boundary
        assignments = httpx.get(
            f"{api_url}/api/v1/assignments",
            params={"contractor": app.contractor_id},
            auth=(org.sandbox_key, ""),
            timeout=30,
        ).json()
        assert [(a["status"], a["policy"]) for a in assignments] == [("active", policy)], boundary
        assert stack.events("invoice.charge_card_succeeded", app.session_id, "application_session") == 1

    await all_boundaries(boundaries(APPLICATION_ACTIVITIES), one)


def _emails(factory: sessionmaker[Session], owner: str, kind: str, relation: str = "assignment") -> int:
    with factory() as session:
        rows = session.scalars(select(EmailMessage).where(EmailMessage.kind == kind)).all()
        return sum((row.related or {}).get(relation) == owner for row in rows)


REPEAT_BINDING_ACTIVITIES = ("bind_assignment_coverage",)
FIRST_JOB_ADJUSTMENT_ACTIVITIES = (
    "refund_card",
    "send_assignment_email",  # the decrease emails
    "record_assignment_progress",
)


async def test_the_worker_killed_while_binding_from_the_application_on_file(stack: Stack) -> None:
    """Repeat coverage binds a new policy for the assignment's dates: exactly one, whatever the crash."""
    client, api_url, org, settings = stack.client, stack.api_url, stack.org, stack.settings
    session_factory, localstripe = stack.factory, stack.localstripe

    async def one(boundary: str) -> None:
        a = await asyncio.to_thread(make_assignment, api_url, org, session_factory, settings, localstripe)
        a = a.model_copy(update={"notice_seconds": 1, "coverage_path": "application_on_file"})
        await asyncio.to_thread(_bind_anew, session_factory, a.assignment_id)

        async def run(queue: str) -> WorkflowHandle[Any, Any]:
            return await start_assignment(client, a, queue)

        async def finished(_handle: WorkflowHandle[Any, Any]) -> bool:
            return await asyncio.to_thread(
                lambda: (
                    status_of(session_factory, a.assignment_id) == "active"
                    and _emails(session_factory, a.assignment_id, "payment_confirmation") > 0
                )
            )

        await crash_then_recover(stack, boundary, run, finished)
        assert charges(localstripe, a) == [("succeeded", a.premium)], boundary
        policies = await asyncio.to_thread(_policies_of, session_factory, a.contractor_id)
        assert len(policies) == 2, boundary  # the one on file, and the assignment's own
        assert stack.documents_named(f"certificate-{policies[-1]}-WC.pdf") == 1, boundary

    await all_boundaries(boundaries(REPEAT_BINDING_ACTIVITIES), one)


async def test_the_worker_killed_around_a_first_jobs_refund_after_capture(stack: Stack) -> None:
    """The first job's final pay after the application's capture: one refund of the difference, one of each
    decrease email, whatever the crash."""
    client, api_url, org, settings = stack.client, stack.api_url, stack.org, stack.settings
    session_factory, localstripe = stack.factory, stack.localstripe

    async def one(boundary: str) -> None:
        a = await asyncio.to_thread(make_assignment, api_url, org, session_factory, settings, localstripe)
        a = a.model_copy(update={"coverage_path": "standard"})
        captured = await asyncio.to_thread(_capture, session_factory, settings, a)
        final = a.premium // 2
        adjusting: list[asyncio.Task[Any]] = []

        async def run(queue: str) -> WorkflowHandle[Any, Any]:
            covered = Coverage(amount=a.premium, payment_intent_id=captured)
            handle = await start_assignment(
                client, a, queue, start_signal=COVERED.name, start_signal_args=[covered]
            )
            adjustment = InvoiceAdjustment(invoice_id="in_final", premium=final, sequence=1)
            adjusting.append(
                asyncio.create_task(handle.execute_update(AssignmentWorkflow.adjust, adjustment))
            )
            return handle

        async def finished(_handle: WorkflowHandle[Any, Any]) -> bool:
            return adjusting[0].done() and await asyncio.to_thread(
                lambda: (
                    _emails(session_factory, a.assignment_id, "premium_decrease_organization") > 0
                    and refunded_to(localstripe, a.assignment_id) > 0
                )
            )

        await crash_then_recover(stack, boundary, run, finished)
        assert adjusting[0].result().collected == final, boundary
        assert refunded_to(localstripe, a.assignment_id) == a.premium - final, boundary
        assert _emails(session_factory, a.assignment_id, "premium_decrease_contractor") == 1, boundary
        assert _emails(session_factory, a.assignment_id, "premium_decrease_organization") == 1, boundary

    await all_boundaries(boundaries(FIRST_JOB_ADJUSTMENT_ACTIVITIES), one)


def _bind_anew(factory: sessionmaker[Session], assignment_id: str) -> None:
    with factory() as session:
        row = session.scalar(select(Assignment).where(Assignment.id == assignment_id))
        assert row is not None
        row.coverage_path, row.policy_id = "application_on_file", None
        session.commit()


def _policies_of(factory: sessionmaker[Session], contractor_id: str) -> list[str]:
    with factory() as session:
        query = select(Policy.id).where(Policy.contractor_id == contractor_id).order_by(Policy.seq)
        return list(session.scalars(query))


def _capture(factory: sessionmaker[Session], settings: Settings, a: AssignmentInput) -> str:
    """What the application collected: the premium charged on the contractor's card (for the assignment)."""
    with factory() as session:
        source = card_on_file(session, a.contractor_id)
        assert source and source.stripe_customer_id and source.payment_method_id
        customer, method = source.stripe_customer_id, source.payment_method_id
    return StripeGateway(settings).charge_saved_card(
        customer, method, a.premium, {"assignment": a.assignment_id}, f"capture:{a.assignment_id}"
    )
