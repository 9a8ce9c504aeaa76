"""Helpers the tests share: free ports, a uvicorn server in a thread, organizations with keys."""

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import uvicorn
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    import httpx

    from common.settings import Settings

from services.organization import NewOrganization, create_organization

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(app: FastAPI, port: int | None = None, settings: "Settings | None" = None) -> Iterator[str]:
    """Run ``app`` with a real uvicorn server on loopback, configured as ``make run`` serves the API; yields
    its base URL."""
    from api.serve import server_config
    from common.settings import Settings

    port = port or free_port()
    # The API (given its settings) logs each request, as make run's does (tests/test_zz_no_secrets.py reads
    # the log); the fakes around it log warnings only.
    api = settings is not None
    config = server_config(
        app, "127.0.0.1", port, settings or Settings.model_construct(), "info" if api else "warning", api
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def eventually(
    check: "Callable[[], T]", timeout: float = 30, explain: "Callable[[], object] | None" = None
) -> T:
    """Polls ``check`` until it returns something true, and returns that; fails after ``timeout`` seconds,
    showing the last value (and ``explain()`` when given)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert value, f"not true after {timeout} s: {value!r}" + (f" ({explain()!r})" if explain else "")
    return value


ROOT = Path(__file__).resolve().parent.parent
STACK_PIECES = ("API", "TEMPORAL", "TEMPORAL_UI", "STRIPE", "SMTP", "MAILBOX")


def stack_ports() -> dict[str, int]:
    """A free port for each piece of `make run`'s stack (GIGCOVER_DEV_<piece>_PORT)."""
    return {name: free_port() for name in STACK_PIECES}


class RunningStack:
    """`make run`'s stack (`python -m devstack.run`) as a subprocess, on the given ports and data folder."""

    def __init__(self, data_dir: Path, ports: dict[str, int], settings: dict[str, str] | None = None) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIGCOVER_")}
        env.update({f"GIGCOVER_DEV_{name}_PORT": str(port) for name, port in ports.items()})
        env["GIGCOVER_DATA_DIR"] = str(data_dir)
        env.update(settings or {})
        self.process = subprocess.Popen(
            [sys.executable, "-m", "devstack.run"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout
        for line in self.process.stdout:
            self.lines.put(line)

    def wait_ready(self, timeout: float = 120) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=1)
            except queue.Empty:
                if self.process.poll() is not None:
                    break
                continue
            self.output.append(line)
            if "Press Ctrl-C to stop." in line:
                return "".join(self.output)
        raise AssertionError("the stack did not come up:\n" + "".join(self.output))

    def drain(self) -> str:
        """Everything the stack printed so far."""
        while not self.lines.empty():
            self.output.append(self.lines.get_nowait())
        return "".join(self.output)

    def interrupt(self) -> int:
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=60)

    def pieces(self) -> dict[str, list[int]]:
        """The processes the stack started, by name (temporal, localstripe, mailbox, worker, api), each with
        the processes it started in turn; `make run` starts a worker per core and an API process per core
        (under one supervisor process)."""
        names = {"temporal": "temporal", "localstripe": "localstripe", "mailbox": "mailbox"}
        names |= {"worker.py": "worker", "api.serve": "api"}
        children = child_processes()

        def with_descendants(pid: int) -> list[int]:
            return [pid, *(p for child, _ in children.get(pid, []) for p in with_descendants(child))]

        found: dict[str, list[int]] = {}
        for pid, command in children.get(self.process.pid, []):
            for word, name in names.items():
                if word in command:
                    found.setdefault(name, []).extend(with_descendants(pid))
        return found


def child_processes() -> dict[int, list[tuple[int, str]]]:
    """Every running process's children, from /proc: parent pid -> [(pid, command line)]."""
    children: dict[int, list[tuple[int, str]]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            command = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append((int(stat.parent.name), command))
    return children


def cpu_seconds(pid: int) -> float:
    """The CPU time (user + system) a process has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    """A process's resident memory, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass(frozen=True)
class Org:
    id: str
    sandbox_key: str
    production_key: str


# Debian's Chromium, as the browser tests drive it (the `browser` fixture in conftest.py).
CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


ISSUED_KEYS: list[str] = []  # every API key the tests made: none may ever show up in the database or logs


def make_org(factory: sessionmaker[Session], name: str = "Test Platform", **options: object) -> Org:
    with factory() as session:
        made: NewOrganization = create_organization(session, name, approve_categories=["*"], **options)  # type: ignore[arg-type]
        ISSUED_KEYS.extend([made.sandbox_key, made.production_key])
        return Org(made.organization.id, made.sandbox_key, made.production_key)


INFLUENCER = "jc_fHDT3r1yqfEqZVPZ"  # data/job_categories.json: "influencer"
ADDRESS = {"line1": "123 Main St", "locality": "San Francisco", "region": "CA", "postalcode": 94102}


def unique_email(name: str = "jane") -> str:
    return f"{name}.{time.time_ns()}.{threading.get_ident() % 10_000}@example.com"


def contractor_fields(email: str = "jane.doe@example.com", **overrides: object) -> dict[str, object]:
    return {
        "first_name": "Jane",
        "last_name": "Doe",
        "email": email,
        "phone": "5551234567",
        "address": ADDRESS,
        **overrides,
    }


def entity_fields(**overrides: object) -> dict[str, object]:
    limits = {"aggregate_limit": "200000000", "occurrence_limit": 100000000}  # the client sends strings too
    return {
        "name": "Acme Brands",
        "coverage_limit": limits,
        "required_coverage": ["general", "workers-comp"],
        **overrides,
    }


def job_fields(entity: str, **overrides: object) -> dict[str, object]:
    return {
        "name": "Spring campaign",
        "description": "Three sponsored posts",
        "entity": entity,
        "category_code": INFLUENCER,
        "wage": 250_000,
        "wage_type": "flatfee",
        "address": {"region": "CA"},
        **overrides,
    }


def process_env(settings: "Settings", temporal_address: str, **extra: str) -> dict[str, str]:
    """The environment of a gigcover process (``api.serve``, ``worker.py``) a test starts on its database:
    this run's encryption key and data folder, and nothing else of the caller's GIGCOVER_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIGCOVER_")}
    return env | {
        "GIGCOVER_ENCRYPTION_KEYS": os.environ["GIGCOVER_ENCRYPTION_KEYS"],
        "GIGCOVER_DATABASE_URL": settings.resolved_database_url,
        "GIGCOVER_DATA_DIR": str(settings.data_dir),
        "GIGCOVER_TEMPORAL_ADDRESS": temporal_address,
        "GIGCOVER_STRIPE_API_BASE": settings.stripe_api_base or "",
        **extra,
    }


@contextmanager
def worker_running(address: str, settings: "Settings", factory: sessionmaker[Session]) -> Iterator[None]:
    """The real worker (all workflows and activities) in its own thread and event loop, so that it keeps
    polling while synchronous tests block theirs."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from temporalio.client import Client
    from temporalio.contrib.pydantic import pydantic_data_converter

    from worker import build_worker

    ready, failure = threading.Event(), []
    control: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []

    async def main() -> None:
        client = await Client.connect(address, data_converter=pydantic_data_converter)
        stop = asyncio.Event()
        with ThreadPoolExecutor(max_workers=settings.worker_activity_threads) as executor:
            async with build_worker(client, settings, factory, executor):
                control.append((asyncio.get_running_loop(), stop))
                ready.set()
                await stop.wait()

    def run() -> None:
        try:
            asyncio.run(main())
        except BaseException as error:  # surfaced to the test below
            failure.append(error)
            ready.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(timeout=60)
    if failure or not control:
        raise RuntimeError("the worker did not start") from (failure[0] if failure else None)
    try:
        yield
    finally:
        loop, stop = control[0]
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=30)


class SmtpSink:
    """A real SMTP server (aiosmtpd) that keeps what it receives."""

    def __init__(self, port: int | None = None) -> None:
        from aiosmtpd.controller import Controller

        self.port = port or free_port()
        self.messages: list[object] = []
        sink = self

        class Handler:
            async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
                from email import message_from_bytes
                from email.policy import default

                sink.messages.append(message_from_bytes(envelope.content, policy=default))  # type: ignore[attr-defined]
                return "250 Message accepted for delivery"

        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def start(self) -> "SmtpSink":
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()


class WebhookReceiver:
    """A platform's webhook endpoint: records every request; can be told to fail the next N."""

    def __init__(self) -> None:
        from fastapi import FastAPI, Request, Response

        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.fail_next = 0
        self.app = FastAPI()

        @self.app.post("/hooks")
        async def hook(request: Request) -> Response:
            self.requests.append((dict(request.headers), await request.body()))
            if self.fail_next:
                self.fail_next -= 1
                return Response("down for maintenance", status_code=503)
            return Response('{"received": true}', media_type="application/json")

    def wait_for(self, count: int, timeout: float = 30) -> list[tuple[dict[str, str], bytes]]:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.requests) >= count, f"expected {count} deliveries, got {len(self.requests)}"
        return self.requests


def raw_stripe(base: str) -> object:
    """Stripe as the test sees it (a secret key), e.g. to do what Stripe.js does in a browser."""
    import stripe

    return stripe.StripeClient("sk_test_from_tests", base_addresses={"api": base})


def card(base: str, number: str) -> str:
    """A PaymentMethod for a test card number, as Stripe.js would make it from the card form."""
    client = raw_stripe(base)
    method = client.v1.payment_methods.create(  # type: ignore[attr-defined]
        params={"type": "card", "card": {"number": number, "exp_month": 12, "exp_year": 2031, "cvc": "123"}}
    )
    return str(method.id)


def intents_of(base: str, owner: str, key: str = "session") -> list[tuple[str, int]]:
    """(status, amount) of every PaymentIntent made for an application session (or, with
    ``key="assignment"``, an assignment), in the order they were made."""
    client = raw_stripe(base)
    intents = client.v1.payment_intents.list(params={"limit": 100})  # type: ignore[attr-defined]
    mine = [pi for pi in intents.auto_paging_iter() if pi.to_dict().get("metadata", {}).get(key) == owner]
    return (
        sorted((pi.status, pi.amount) for pi in mine)
        if key == "session"
        else [(pi.status, pi.amount) for pi in mine]
    )


def refunded_to(base: str, assignment_id: str) -> int:
    """Cents refunded in Stripe for an assignment (its refunds carry the assignment in their metadata)."""
    refunds = raw_stripe(base).v1.refunds.list(params={"limit": 100})  # type: ignore[attr-defined]
    return sum(
        r.amount
        for r in refunds.auto_paging_iter()
        if r.to_dict().get("metadata", {}).get("assignment") == assignment_id
    )


def assignment_request(contractor: str, job: str, quote: dict[str, Any]) -> dict[str, Any]:
    """The body of POST /assignments covering the quote's period (its policy is reused)."""
    return {
        "contractor": contractor,
        "job": job,
        "effective_date": quote["effective_date"],
        "end_date": quote["end_date"],
    }


async def insured_contractors(
    http: "httpx.AsyncClient",
    factory: sessionmaker[Session],
    settings: "Settings",
    org: Org,
    localstripe: str,
    count: int,
) -> list[tuple[str, str, dict[str, Any]]]:
    """Contractors with an active workers' comp policy and a saved card: (contractor, job, quote) each."""
    import asyncio

    from tests.test_assignment_workflow import save_card

    async def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST as a well-behaved client does: over the key's burst limit, wait as told and send it again."""
        while (answer := await http.post(path, json=body)).status_code == 429:
            await asyncio.sleep(float(answer.headers.get("Retry-After", "1")))
        assert answer.status_code in (200, 201), answer.text
        return dict(answer.json())

    made = []
    for i in range(count):
        entity = (await post("/entities", entity_fields()))["id"]
        email = f"insured{i}.{time.time_ns()}@example.com"
        contractor = (await post("/contractors", contractor_fields(email)))["id"]
        job = (await post("/jobs", job_fields(entity)))["id"]
        coverage = {"contractor": contractor, "job": job, "coverage_type": ["workers-comp"]}
        quote = await post("/quotes", coverage)
        await post("/policies", {"quote": quote["id"]})
        await asyncio.to_thread(
            save_card, factory, settings, org, contractor, "4242424242424242", localstripe
        )
        made.append((contractor, job, quote))
    return made
