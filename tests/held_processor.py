"""A payment processor that stops answering, for the tests: a proxy in front of the test's localstripe that
passes everything through, except one request it is told to hold.

- ``hold(..., what="request")``: the processor is paused (as by SIGSTOP) when the request arrives; it gets
  the request only after ``seconds``, and does it then, even though the caller gave up long before.
- ``hold(..., what="answer")``: the processor does the request at once (the money moves), and its answer is
  held for ``seconds``: the caller hears nothing in time.

``settled()`` waits until every held request has reached the processor and every held answer was given.
"""

import asyncio
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

import aiohttp
from aiohttp import web

PASSED_HEADERS = ("content-type", "idempotent-replayed", "idempotency-key", "request-id")


@dataclass
class Hold:
    method: str
    path: re.Pattern[str]
    seconds: float
    what: Literal["request", "answer"]


class HeldProcessor:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.url = ""
        self.holds: list[Hold] = []
        self.held = 0  # requests or answers held so far
        self._busy: set[asyncio.Future[tuple[int, bytes, dict[str, str]]]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    def hold(self, method: str, path: str, seconds: float, what: Literal["request", "answer"]) -> None:
        """Hold the next ``method`` request whose path matches ``path`` (a regular expression)."""
        self.holds.append(Hold(method, re.compile(path), seconds, what))

    def _take(self, method: str, path: str) -> Hold | None:
        for hold in self.holds:
            if hold.method == method and hold.path.fullmatch(path):
                self.holds.remove(hold)
                self.held += 1
                return hold
        return None

    async def _exchange(
        self, method: str, path_qs: str, headers: dict[str, str], body: bytes, hold: Hold | None
    ) -> tuple[int, bytes, dict[str, str]]:
        if hold and hold.what == "request":
            await asyncio.sleep(hold.seconds)
        timeout = aiohttp.ClientTimeout(total=60)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.request(method, self.upstream + path_qs, headers=headers, data=body) as response,
        ):
            answer = await response.read()
            kept = {k: v for k, v in response.headers.items() if k.lower() in PASSED_HEADERS}
            status = response.status
        if hold and hold.what == "answer":
            await asyncio.sleep(hold.seconds)
        return status, answer, kept

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        hold = self._take(request.method, request.path)
        work = asyncio.ensure_future(self._exchange(request.method, request.path_qs, headers, body, hold))
        self._busy.add(work)
        work.add_done_callback(self._busy.discard)
        status, answer, kept = await asyncio.shield(work)  # the processor does it even if the caller left
        return web.Response(status=status, body=answer, headers=kept)

    def settled(self, timeout: float = 120) -> None:
        """Blocks until nothing held is still on its way (to the processor, or back)."""

        async def idle() -> None:
            while self._busy or self.holds:
                await asyncio.sleep(0.1)

        assert self._loop is not None
        asyncio.run_coroutine_threadsafe(idle(), self._loop).result(timeout)

    @contextmanager
    def running(self) -> Iterator["HeldProcessor"]:
        started, stop = threading.Event(), threading.Event()

        async def main() -> None:
            app = web.Application()
            app.router.add_route("*", "/{tail:.*}", self._handle)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = runner.addresses[0][1]
            self.url, self._loop = f"http://127.0.0.1:{port}", asyncio.get_running_loop()
            started.set()
            while not stop.is_set():
                await asyncio.sleep(0.1)
            await runner.cleanup()

        thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
        thread.start()
        assert started.wait(10), "the proxy did not start"
        try:
            yield self
        finally:
            stop.set()
            thread.join(timeout=10)
