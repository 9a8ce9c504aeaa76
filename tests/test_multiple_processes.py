"""Two API processes and two workers (each its own OS process, as `docker compose --scale` runs them) on one
database and one Temporal server. The platform talks to both APIs in turn: a card-paid application (hosted
pages on one API, the API calls on the other), the first job's final pay up and down, a repeat assignment,
a CreatorIQ sync and webhook deliveries. Every money and delivery invariant holds: one charge or refund per
revision in localstripe, one event per change delivered once, an idempotent request replayed by either
process answered the same."""

import collections
import json
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from common.settings import Settings
from db.models import Contractor
from tests.fake_creatoriq import FakeCreatorIQ
from tests.support import (
    ROOT,
    SmtpSink,
    WebhookReceiver,
    child_processes,
    contractor_fields,
    entity_fields,
    eventually,
    free_port,
    intents_of,
    job_fields,
    make_org,
    process_env,
    refunded_to,
    unique_email,
)
from tests.test_application_flow import CANCEL, SUCCESS, _fill_application
from tests.test_creatoriq import CAMPAIGN, _day, ready_creator
from tests.test_temporal_restart import start_dev_server

SEED_INVOICE = {"paycycle_startdate": 1714419793, "paycycle_enddate": 1714419793}


@contextmanager
def process(command: list[str], env: dict[str, str], ready_url: str | None = None) -> Iterator[None]:
    child = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 60
        while ready_url is not None:
            assert child.poll() is None, f"{command} exited: {child.stderr.read() if child.stderr else ''}"
            try:
                if httpx.get(ready_url, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"{command} did not get ready"
            time.sleep(0.2)
        yield
        assert child.poll() is None, f"{command} died: {child.stderr.read() if child.stderr else ''}"
    finally:
        child.terminate()
        child.wait(timeout=30)


@pytest.fixture
def two_of_everything(
    tmp_path: Path, settings: Settings, smtp_sink: SmtpSink, localstripe: str, creatoriq: FakeCreatorIQ
) -> Iterator[list[str]]:
    """Its own Temporal dev server (so no other test's worker takes these tasks), two workers, two APIs."""
    temporal_port = free_port()
    server = start_dev_server(temporal_port, tmp_path / "temporal.db")
    urls = [f"http://127.0.0.1:{free_port()}" for _ in range(2)]
    env = process_env(
        settings,
        f"127.0.0.1:{temporal_port}",
        GIGCOVER_STRIPE_API_BASE=localstripe,
        GIGCOVER_SMTP_PORT=str(smtp_sink.port),
        GIGCOVER_PUBLIC_BASE_URL=urls[0],
        GIGCOVER_CREATORIQ_BASE_URL=creatoriq.url,
        GIGCOVER_SANDBOX_PRIVATE_WEBHOOK_TARGETS="true",
        GIGCOVER_ASSIGNMENT_NOTICE_SECONDS="0",
        GIGCOVER_WORKER_ACTIVITY_THREADS="8",
    )
    try:
        with ExitStack() as stack:
            for _ in range(2):
                stack.enter_context(process([sys.executable, "worker.py"], env))
            for url in urls:
                port = url.rsplit(":", 1)[1]
                command = [sys.executable, "-m", "api.serve", "--port", port, "--log-level", "warning"]
                stack.enter_context(process(command, env, f"{url}/readyz"))
            yield urls
    finally:
        server.kill()
        server.wait()


def _ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


def test_two_apis_and_two_workers_keep_every_invariant(
    two_of_everything: list[str],
    session_factory: sessionmaker[Session],
    localstripe: str,
    creatoriq: FakeCreatorIQ,
    receiver: tuple[WebhookReceiver, str],
) -> None:
    org = make_org(session_factory, "Two of Everything")
    hook, hook_url = receiver
    one, two = (
        httpx.Client(base_url=f"{url}/api/v1", auth=(org.sandbox_key, ""), timeout=60)
        for url in two_of_everything
    )
    _ok(one.post("/webhook_endpoints", json={"url": hook_url}), 201)

    # An idempotent request replayed to the other process: the same answer, one contractor.
    key, body = secrets.token_hex(8), contractor_fields(unique_email("twice"))
    first = _ok(one.post("/contractors", json=body, headers={"Idempotency-Key": key}), 201)
    again = _ok(two.post("/contractors", json=body, headers={"Idempotency-Key": key}), 201)
    assert again == first

    # The card-paid application: API calls on one process, the hosted pages on the other.
    entity = _ok(two.post("/entities", json=entity_fields()), 201)["id"]
    contractor = _ok(one.post("/contractors", json=contractor_fields(unique_email())), 201)["id"]
    job = _ok(two.post("/jobs", json=job_fields(entity, wage=500_000)), 201)["id"]
    quote = _ok(
        one.post("/quotes", json={"contractor": contractor, "job": job, "coverage_type": ["workers-comp"]}),
        201,
    )
    session = _ok(
        two.post(
            "/apply/sessions", json={"quote": quote["id"], "success_url": SUCCESS, "cancel_url": CANCEL}
        ),
        201,
    )
    hosted = session["url"].replace(two_of_everything[0], two_of_everything[1])
    with httpx.Client(base_url=two_of_everything[1], timeout=60) as browser:
        assert _fill_application(browser, hosted, "4242424242424242", localstripe) == SUCCESS
    assignment = eventually(
        lambda: [
            a
            for a in one.get("/assignments", params={"contractor": contractor}).json()
            if a["status"] == "active"
        ],
        timeout=60,
    )[0]

    # The first job's final pay, down then up, each through a different process.
    lower = _ok(
        one.post("/invoices", json={"contractor": contractor, "job": job, "gross_pay": 1200, **SEED_INVOICE}),
        201,
    )
    eventually(
        lambda: refunded_to(localstripe, assignment["id"]) == quote["premium_due"] - lower["premium_due"],
        timeout=60,
    )
    higher = _ok(
        two.post(
            "/invoices", json={"contractor": contractor, "job": job, "gross_pay": 800_000, **SEED_INVOICE}
        ),
        201,
    )
    debit = higher["premium_due"] - lower["premium_due"]
    eventually(
        lambda: ("succeeded", debit) in intents_of(localstripe, assignment["id"], key="assignment"),
        timeout=60,
    )

    # A repeat assignment for the same contractor, covered from the application on file and charged once.
    second_job = _ok(one.post("/jobs", json=job_fields(entity, wage=300_000)), 201)["id"]
    start = int(time.time()) + 45 * 86_400  # past the first policy: bound from the application on file
    repeat = _ok(
        one.post(
            "/assignments",
            json={
                "contractor": contractor,
                "job": second_job,
                "coverage_type": ["workers-comp"],
                "effective_date": start,
                "end_date": start + 7 * 86_400,
            },
        ),
        201,
    )
    assert repeat["coverage_path"] == "application_on_file"
    eventually(lambda: two.get(f"/assignments/{repeat['id']}").json()["status"] == "active", timeout=60)

    # A CreatorIQ sync: the key saved through one process, its webhook arriving at the other.
    account = creatoriq.account(f"ciq_{secrets.token_hex(16)}")
    account.add_campaign(CAMPAIGN, "Summer launch", start=_day(10), end=_day(40))
    _ok(two.put("/organization/creatoriq", json={"api_key": account.api_key}))
    _ok(one.post("/creatoriq/webhook_subscription"))
    creator_email = unique_email("maya")
    ready_creator(account, 701, "old@example.com", CustomField10="4500", CustomField8="NY")
    account.update_publisher(701, Email=creator_email)
    synced = eventually(
        lambda: [
            c
            for c in two.get("/creatoriq/creators", params={"publisher_id": 701}).json()
            if c["status"] == "synced"
        ],
        timeout=60,
    )
    assert synced[0]["contractor"]

    # Money: exactly one capture for the application, one refund, one debit; one charge for the repeat.
    application_charges = [i for i in intents_of(localstripe, session["id"]) if i[0] == "succeeded"]
    assert application_charges == [("succeeded", quote["premium_due"])]
    assert refunded_to(localstripe, assignment["id"]) == quote["premium_due"] - lower["premium_due"]
    assert [
        i for i in intents_of(localstripe, assignment["id"], key="assignment") if i[0] == "succeeded"
    ] == [("succeeded", debit)]
    assert [i[0] for i in intents_of(localstripe, repeat["id"], key="assignment")] == ["succeeded"]

    # Deliveries: every event once, none lost.
    events = {e["id"]: e for e in one.get("/events", params={"limit": 100}).json()}

    def delivered_ids() -> list[str]:
        return [json.loads(body)["id"] for _headers, body in hook.requests]

    eventually(
        lambda: set(delivered_ids()) >= set(events),
        timeout=60,
        explain=lambda: set(events) - set(delivered_ids()),
    )
    delivered = collections.Counter(delivered_ids())
    assert max(delivered.values()) == 1, delivered
    changes = collections.Counter((e["type"], e["data"].get("id")) for e in events.values())
    assert max(changes.values()) == 1, changes  # one event per change
    with session_factory() as db:
        mine = (Contractor.organization_id == org.id, Contractor.deleted_at.is_(None))
        assert db.scalar(select(func.count()).select_from(Contractor).where(*mine)) == 3  # twice, jane, maya


def _children(pid: int) -> list[int]:
    """The server processes a supervisor spawned (not multiprocessing's resource tracker)."""
    return [child for child, command in child_processes().get(pid, []) if "spawn_main" in command]


def test_one_port_served_by_as_many_processes_as_asked(settings: Settings, temporal_address: str) -> None:
    """``GIGCOVER_API_PROCESSES`` (or ``--processes``): uvicorn's supervisor runs that many whole APIs on one
    listening socket; each answers, with the shared database and Temporal."""
    port = free_port()
    env = process_env(settings, temporal_address, GIGCOVER_API_PROCESSES="2")
    command = [sys.executable, "-m", "api.serve", "--port", str(port), "--log-level", "warning"]
    supervisor = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        eventually(lambda: len(_children(supervisor.pid)) >= 2, timeout=30)
        url = f"http://127.0.0.1:{port}/readyz"

        def ready() -> bool:
            try:
                return httpx.get(url, timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        eventually(ready, timeout=60)
        assert all(httpx.get(url, timeout=5).json()["status"] == "ready" for _ in range(20))
        assert len(_children(supervisor.pid)) == 2

        # Each request on a new connection, which the kernel gives to either process; every scrape of
        # /metrics, whichever process answers it, counts all of them.
        for _ in range(40):
            assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
        for _ in range(10):
            scraped = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
            counted = [
                float(line.rsplit(" ", 1)[1])
                for line in scraped.splitlines()
                if line.startswith("gigcover_api_requests_total{")
                and 'route="/healthz"' in line
                and 'status="200"' in line
            ]
            assert counted == [40.0], scraped
    finally:
        supervisor.terminate()
        supervisor.wait(timeout=30)
