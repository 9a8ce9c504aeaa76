"""Outside answers are bounded: a webhook receiver that answers a huge body costs the worker no memory (it
reads 64 KiB and hangs up), and one that drips its answer a byte at a time, in the body or in the headers,
holds an attempt no longer than the documented timeout (GIGCOVER_WEBHOOK_TIMEOUT_SECONDS, 10 s), for the
whole exchange. The CreatorIQ client's requests are bounded the same way."""

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from common.settings import Settings
from integrations.creatoriq.client import CreatorIQClient, CreatorIQUnavailable
from tests.support import Org, contractor_fields, entity_fields, eventually, job_fields, unique_email

HUGE = 256 * 1024 * 1024
DRIP_FOR = 30.0  # seconds a dripping receiver keeps going when nobody hangs up


class RawReceiver:
    """A real receiver on loopback, on bare sockets so that it can misbehave: it reads each request, then
    ``answer`` writes to the connection; it records when the other side hung up and how much it had sent."""

    def __init__(self, answer: Callable[[socket.socket], int]) -> None:
        self._answer = answer
        self._server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._server.getsockname()[1]}"
        self.exchanges: list[dict[str, float]] = []  # per request: received, ended, bytes_sent

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
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
                body += conn.recv(65536)
            received = time.monotonic()
            sent = self._answer(conn)
            self.exchanges.append({"received": received, "ended": time.monotonic(), "bytes_sent": sent})

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    @contextmanager
    def running(self) -> Iterator["RawReceiver"]:
        threading.Thread(target=self._accept, daemon=True).start()
        try:
            yield self
        finally:
            self._server.close()


def huge_body(conn: socket.socket) -> int:
    """200 with a 256 MiB body, sent as fast as the other side reads it."""
    sent = 0
    chunk = b"\0" * (1024 * 1024)
    try:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n")
        conn.sendall(f"Content-Length: {HUGE}\r\n\r\n".encode())
        while sent < HUGE:
            conn.sendall(chunk)
            sent += len(chunk)
    except OSError:  # the other side hung up
        pass
    return sent


def drip(prefix: bytes) -> Callable[[socket.socket], int]:
    """Sends ``prefix`` at once, then one byte a second (in the headers, or in the body)."""

    def answer(conn: socket.socket) -> int:
        started, sent = time.monotonic(), 0
        try:
            conn.sendall(prefix)
            while time.monotonic() - started < DRIP_FOR:
                conn.sendall(b"x")
                sent += 1
                time.sleep(1)
            conn.sendall(b"\r\n\r\n" if prefix.endswith(b"X-Slow: ") else b"")
        except OSError:
            pass
        return sent

    return answer


BODY_DRIP = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n"
HEADER_DRIP = b"HTTP/1.1 200 OK\r\nX-Slow: "


def _deliver_one_event(api_url: str, key: str, url: str) -> tuple[httpx.Client, str]:
    http = httpx.Client(base_url=f"{api_url}/api/v1", auth=(key, ""), timeout=30)
    endpoint = http.post("/webhook_endpoints", json={"url": url})
    assert endpoint.status_code == 201, endpoint.text
    entity = http.post("/entities", json=entity_fields()).json()["id"]
    contractor = http.post("/contractors", json=contractor_fields(unique_email())).json()["id"]
    job = http.post("/jobs", json=job_fields(entity)).json()["id"]
    quote = http.post("/quotes", json={"contractor": contractor, "job": job, "coverage_type": ["general"]})
    http.post("/policies", json={"quote": quote.json()["id"]})  # policy.active, for the endpoint
    deliveries = eventually(
        lambda: http.get(f"/webhook_endpoints/{endpoint.json()['id']}/deliveries").json(), timeout=30
    )
    return http, deliveries[0]["id"]


def _first_attempt(http: httpx.Client, delivery_id: str, timeout: float = 60) -> dict[str, Any]:
    attempts = eventually(lambda: http.get(f"/webhook_deliveries/{delivery_id}").json()["attempts"], timeout)
    return attempts[0]


@pytest.mark.usefixtures("worker")
def test_a_huge_answer_is_not_read(api_url: str, org: Org) -> None:
    # What the receiver managed to send is the measure of what the worker read (tracemalloc, which measured
    # the allocations directly, crashed CPython 3.11 under the suite's native threads: a segfault in CI).
    with RawReceiver(huge_body).running() as receiver:
        http, delivery = _deliver_one_event(api_url, org.sandbox_key, f"{receiver.url}/hooks")
        attempt = _first_attempt(http, delivery)
        exchange = eventually(lambda: receiver.exchanges, timeout=30)[0]
    assert attempt["status_code"] == 200 and attempt["error"] is None  # its status is all that counts
    assert http.get(f"/webhook_deliveries/{delivery}").json()["status"] == "delivered"
    # The worker hung up after the first 64 KiB: of the 256 MiB, only what the sockets' buffers held left.
    assert exchange["bytes_sent"] < 32 * 1024 * 1024, exchange
    http.close()


@pytest.mark.one_database
@pytest.mark.usefixtures("worker")
@pytest.mark.parametrize("prefix", [BODY_DRIP, HEADER_DRIP], ids=["body", "headers"])
def test_a_dripped_answer_ends_the_attempt_at_the_timeout(
    api_url: str, org: Org, settings: Settings, prefix: bytes
) -> None:
    limit = settings.webhook_timeout_seconds
    assert limit == 10.0  # the documented default
    with RawReceiver(drip(prefix)).running() as receiver:
        http, delivery = _deliver_one_event(api_url, org.sandbox_key, f"{receiver.url}/hooks")
        attempt = _first_attempt(http, delivery, timeout=DRIP_FOR + 30)
        exchange = eventually(lambda: receiver.exchanges, timeout=DRIP_FOR)[0]
    assert attempt["status_code"] is None and "Timeout" in attempt["error"], attempt
    assert attempt["latency_ms"] <= limit * 1000 + 1000, attempt
    # The receiver saw the worker hang up within the limit, well before it would have stopped dripping.
    assert exchange["ended"] - exchange["received"] <= limit + 1.5, exchange
    http.close()


def test_creatoriq_answers_are_bounded_in_time_and_size() -> None:
    with RawReceiver(drip(BODY_DRIP)).running() as slow:
        client = CreatorIQClient("ciq-key", slow.url, timeout=2.0, attempts=1)
        started = time.monotonic()
        with pytest.raises(CreatorIQUnavailable):
            client.publisher(1)
        assert time.monotonic() - started < 3.5
        client.close()
    with RawReceiver(huge_body).running() as huge:
        client = CreatorIQClient("ciq-key-2", huge.url, timeout=30.0, attempts=1)
        with pytest.raises(Exception, match="more than"):
            client.publisher(1)
        client.close()
        exchange = eventually(lambda: huge.exchanges, timeout=30)[0]
    assert exchange["bytes_sent"] < 64 * 1024 * 1024
