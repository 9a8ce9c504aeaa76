"""`make run`'s stack, started for real: every piece answers, Ctrl-C stops all of it, data survives."""

import asyncio
import os
import re
import signal
import smtplib
import socket
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
import stripe
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from tests.support import RunningStack, stack_ports


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _answers_again_after_idling(port: int, seconds: float) -> bool:
    """Whether one connection answers a request, idles ``seconds`` (longer than an httpx client keeps an
    idle connection, 5 s) and answers the next: a server that closed it first would make a client that
    reused it at that moment fail with a connection reset."""
    request = b"GET /healthz HTTP/1.1\r\nHost: api\r\n\r\n"

    def more(sock: socket.socket) -> bytes:
        chunk = sock.recv(65536)
        if not chunk:
            raise OSError("the server closed the connection")
        return chunk

    def response(sock: socket.socket) -> bytes:  # the whole of it: headers and body can come apart
        data = b""
        while b"\r\n\r\n" not in data:
            data += more(sock)
        head, _, body = data.partition(b"\r\n\r\n")
        length = next(
            (
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length")
            ),
            0,
        )
        while len(body) < length:
            body += more(sock)
        return head

    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        first = response(sock)
        time.sleep(seconds)
        try:
            sock.sendall(request)
            second = response(sock)
        except OSError:
            return False
    return first.startswith(b"HTTP/1.1 200") and second.startswith(b"HTTP/1.1 200")


@pytest.fixture(name="stack_ports")
def stack_ports_fixture() -> dict[str, int]:
    return stack_ports()


@pytest.fixture
def started(tmp_path: Path, stack_ports: dict[str, int]) -> Iterator[tuple[RunningStack, str]]:
    stack = RunningStack(tmp_path / "data", stack_ports)
    try:
        yield stack, stack.wait_ready()
    finally:
        if stack.process.poll() is None:
            stack.process.kill()


async def test_make_run_starts_every_piece_and_stops_them(
    started: tuple[RunningStack, str], tmp_path: Path, stack_ports: dict[str, int]
) -> None:
    stack, banner = started
    key = re.search(r"Sandbox API key\s+(t9k_test_\w+)", banner)
    assert key, banner
    api = f"http://127.0.0.1:{stack_ports['API']}"
    for label, url in [
        ("API", f"{api}/api/v1"),
        ("API docs", f"{api}/docs"),
        ("Temporal UI", f"http://127.0.0.1:{stack_ports['TEMPORAL_UI']}"),
        ("Mailbox", f"http://127.0.0.1:{stack_ports['MAILBOX']}"),
    ]:
        assert re.search(rf"{label}\s+{re.escape(url)}", banner), (label, banner)

    # The API answers with the printed sandbox key, and its docs are served.
    categories = httpx.get(f"{api}/api/v1/category_codes", headers={"Authorization": f"Bearer {key[1]}"})
    assert categories.status_code == 200 and len(categories.json()) >= 15
    assert httpx.get(f"{api}/docs").status_code == 200
    assert "/api/v1/contractors" in httpx.get(f"{api}/openapi.json").json()["paths"]
    assert _answers_again_after_idling(stack_ports["API"], seconds=6)

    # The Temporal UI is up, and the worker polls our task queue on the dev server.
    assert (
        httpx.get(f"http://127.0.0.1:{stack_ports['TEMPORAL_UI']}/", follow_redirects=True).status_code == 200
    )
    client = await Client.connect(f"127.0.0.1:{stack_ports['TEMPORAL']}")
    deadline = time.monotonic() + 30
    pollers: list[object] = []
    while not pollers and time.monotonic() < deadline:
        described = await client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace="default",
                task_queue=TaskQueue(name="gigcover"),
                task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
            )
        )
        pollers = list(described.pollers)
        await asyncio.sleep(0.5)
    assert pollers, "the worker is not polling the gigcover task queue"
    # Every worker made sure of the reminder sweep: one run of it, running.
    running = 'WorkflowId="application-reminders" AND ExecutionStatus="Running"'
    reminders = [w async for w in client.list_workflows(running)]
    assert len(reminders) == 1 and reminders[0].workflow_type == "ApplicationRemindersWorkflow", reminders
    workers = stack.pieces()["worker"]
    attributes = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace="default")
    )
    assert {"OrganizationId", "ContractorId", "PaymentStage", "ChargeDueAt"} <= set(
        attributes.custom_attributes
    )

    # localstripe speaks Stripe's API to the official SDK.
    stripe_client = stripe.StripeClient(
        "sk_test_devstack", base_addresses={"api": f"http://127.0.0.1:{stack_ports['STRIPE']}"}
    )
    customer = stripe_client.v1.customers.create(params={"email": "jane@example.com"})
    assert stripe_client.v1.customers.retrieve(customer.id).email == "jane@example.com"

    # Mail sent to the SMTP sink can be read in the mailbox.
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = (
        "a@example.com",
        "b@example.com",
        "Hello from the test",
    )
    message.set_content("It arrived.")
    with smtplib.SMTP("127.0.0.1", stack_ports["SMTP"]) as smtp:
        smtp.send_message(message)
    mailbox = httpx.get(f"http://127.0.0.1:{stack_ports['MAILBOX']}/api/messages").json()
    assert [m["subject"] for m in mailbox] == ["Hello from the test"]
    assert "Hello from the test" in httpx.get(f"http://127.0.0.1:{stack_ports['MAILBOX']}/").text

    # A worker that dies is started again, as compose would, and the stack goes on.
    killed = stack.pieces()["worker"][0]
    os.kill(killed, signal.SIGKILL)
    restarted = re.compile(r"worker-\d exited with code -9; starting it again")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not restarted.search(stack.drain()):
        time.sleep(0.5)
    assert restarted.search(stack.drain()), stack.drain()
    assert stack.process.poll() is None, stack.drain()
    alive = stack.pieces()["worker"]
    assert killed not in alive and len(alive) == len(workers), (workers, alive)

    # Ctrl-C stops every process it started.
    assert stack.interrupt() == 0
    for name, port in stack_ports.items():
        assert not _port_open(port), f"{name} still listens on {port}"

    # A second run finds the same data: the same demo key, the same Stripe customer, the same mail.
    again = RunningStack(tmp_path / "data", stack_ports)
    try:
        assert key[1] in again.wait_ready()
        stripe_client = stripe.StripeClient(
            "sk_test_devstack", base_addresses={"api": f"http://127.0.0.1:{stack_ports['STRIPE']}"}
        )
        assert stripe_client.v1.customers.retrieve(customer.id).email == "jane@example.com"
        assert len(httpx.get(f"http://127.0.0.1:{stack_ports['MAILBOX']}/api/messages").json()) == 1
        assert again.interrupt() == 0
    finally:
        if again.process.poll() is None:
            again.process.kill()
