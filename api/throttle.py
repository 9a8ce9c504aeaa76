"""Limits every API process enforces together: requests per API key, and links to hosted pages that do not
exist, per client address.

The counts live in the database (``rate_counters``, one row per key or address: its current window and the
count in it), incremented with one atomic upsert, so several API processes on one database share them. A
process that has seen a window fill up refuses the rest of it by itself, without touching the database: a
flood of refused requests costs no writes.

Counting never holds a request up: the upsert waits at most a quarter of a second for the database's write
lock (SQLite has one writer, which may be a worker's transaction). When the lock stays taken, the hit is
kept in the process and written with the next hit that gets through in the same window, and meanwhile the
process refuses by its own count (what the database said last, plus the hits it holds). So while the lock
is taken each API process enforces the limit by itself, and the shared count catches up afterwards.
"""

import logging
import math
import threading
import time
from collections.abc import Callable

import anyio
from sqlalchemy import case, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.client_address import client_address
from api.hosted.security import HOSTED_PREFIXES
from db.engine import WriteLockBusy, committed_briefly
from db.models import RateCounter
from db.upsert import insert_for

COUNTERS = RateCounter.__table__
log = logging.getLogger("gigcover.throttle")


class SharedCounter:
    """At most ``limit`` hits per bucket in each fixed window of ``window_seconds`` (``limit`` 0: none
    counted, nothing refused)."""

    def __init__(self, limit: int, window_seconds: int) -> None:
        self.limit, self.window = limit, max(1, window_seconds)
        self._full: dict[str, int] = {}  # bucket -> end of a window this process knows is full
        # bucket -> (window start, hits not written yet, the shared count the database last answered)
        self._held: dict[str, tuple[int, int, int]] = {}
        self._lock = threading.Lock()

    def _window(self, at: float) -> tuple[int, int]:
        start = int(at) // self.window * self.window
        return start, start + self.window

    def _known_full(self, bucket: str, at: float) -> int | None:
        end = self._full.get(bucket)
        if end is None:
            return None
        if at < end:
            return max(1, math.ceil(end - at))
        del self._full[bucket]
        return None

    def _mark_full(self, bucket: str, end: int, at: float) -> int:
        if len(self._full) > 10_000:  # forget windows that are over
            self._full = {b: e for b, e in self._full.items() if e > at}
        self._full[bucket] = end
        return max(1, math.ceil(end - at))

    def hit(self, session: Session, bucket: str, at: float | None = None) -> int | None:
        """Count one hit (committed at once, or held in the process while the database's write lock is
        taken); returns the seconds until the window ends when this hit is over the limit, else None."""
        at = time.time() if at is None else at
        if self.limit <= 0:
            return None
        start, end = self._window(at)
        if (wait := self._known_full(bucket, at)) is not None:
            if held := self._take_held(bucket, start):  # what the other processes have not seen yet
                self._add(session, bucket, start, held)
            return wait
        count = self._add(session, bucket, start, self._take_held(bucket, start) + 1)
        return self._mark_full(bucket, end, at) if count > self.limit else None

    def _add(self, session: Session, bucket: str, start: int, hits: int) -> int:
        """Add ``hits`` to the bucket's count in this window; returns the count. When the write lock stays
        taken, the hits are held in the process instead, and the count is this process's estimate."""
        insert = insert_for(session, RateCounter).values(bucket=bucket, window_start=start, count=hits)
        same_window = COUNTERS.c.window_start >= insert.excluded.window_start
        upsert = insert.on_conflict_do_update(
            index_elements=[COUNTERS.c.bucket],
            set_={
                "count": case(
                    (same_window, COUNTERS.c.count + insert.excluded.count), else_=insert.excluded.count
                ),
                "window_start": case(
                    (same_window, COUNTERS.c.window_start), else_=insert.excluded.window_start
                ),
            },
        ).returning(COUNTERS.c.count)
        try:
            with committed_briefly(session):
                count: int = session.execute(upsert).scalar_one()
        except WriteLockBusy:
            log.info("rate counter %s not written (the database's write lock is taken): held", bucket)
            return self._hold(bucket, start, hits)
        self._written(bucket, start, count)
        return count

    def _take_held(self, bucket: str, start: int) -> int:
        """The hits of this window held in the process (handed to the write about to be tried)."""
        with self._lock:
            held = self._held.get(bucket)
            if held is None or held[0] != start or held[1] == 0:
                return 0
            self._held[bucket] = (start, 0, held[2])
            return held[1]

    def _hold(self, bucket: str, start: int, hits: int) -> int:
        """Keep ``hits`` for a later write; returns this process's estimate of the window's count."""
        with self._lock:
            self._forget_before(start)
            began, pending, shared = self._held.get(bucket, (start, 0, 0))
            if began != start:
                pending, shared = 0, 0
            self._held[bucket] = (start, pending + hits, shared)
            return shared + pending + hits

    def _written(self, bucket: str, start: int, count: int) -> None:
        with self._lock:
            self._forget_before(start)
            held = self._held.get(bucket)
            pending = held[1] if held is not None and held[0] == start else 0
            self._held[bucket] = (start, pending, count)

    def _forget_before(self, start: int) -> None:
        if len(self._held) > 10_000:  # windows that are over
            self._held = {b: h for b, h in self._held.items() if h[0] >= start}

    def full(self, session: Session, bucket: str, at: float | None = None) -> int | None:
        """Whether the bucket's window is already full (reads only): the seconds until it ends, else None."""
        at = time.time() if at is None else at
        if self.limit <= 0:
            return None
        if (wait := self._known_full(bucket, at)) is not None:
            return wait
        start, end = self._window(at)
        row = session.execute(
            select(COUNTERS.c.window_start, COUNTERS.c.count).where(COUNTERS.c.bucket == bucket)
        ).first()
        session.rollback()  # end the read transaction
        if row is not None and row.window_start >= start and row[1] >= self.limit:  # row.count: tuple's
            return self._mark_full(bucket, end, at)
        return None


TOO_MANY = (
    "<!doctype html><html lang=en><head><meta charset=utf-8><title>Too many attempts</title></head><body>"
    "<h1>Too many attempts</h1><p>Too many links that do not work were opened from your network. "
    "Try your link again in {minutes} minutes.</p></body></html>"
)


class HostedLinkThrottle:
    """Pure ASGI middleware on the hosted pages (``/apply/…``, ``/cards/…``), whose link is the contractor's
    access: each answer 404 (a link that does not exist) counts against the address that asked; an address
    over the limit gets 429 on every hosted page until its window ends, so guessing links yields nothing,
    not even which ones exist."""

    def __init__(self, app: ASGIApp, limit: int, window_seconds: int) -> None:
        self.app, self.counter = app, SharedCounter(limit, window_seconds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(HOSTED_PREFIXES) or self.counter.limit <= 0:
            await self.app(scope, receive, send)
            return
        factory: sessionmaker[Session] = scope["app"].state.session_factory
        bucket = f"link:{client_address(scope) or 'unknown'}"
        wait = await anyio.to_thread.run_sync(self._with_session(factory, self.counter.full, bucket))
        if wait is not None:
            await _too_many(send, wait)
            return

        async def watch(message: Message) -> None:
            # A 404 is counted before it is answered: the next guess, sent the moment this one is answered,
            # already finds it counted (counted after, a quick guesser got one or two past the limit).
            if message["type"] == "http.response.start" and message["status"] == 404:
                await anyio.to_thread.run_sync(self._with_session(factory, self.counter.hit, bucket))
            await send(message)

        await self.app(scope, receive, watch)

    @staticmethod
    def _with_session(
        factory: sessionmaker[Session], count: Callable[[Session, str], int | None], bucket: str
    ) -> Callable[[], int | None]:
        def run() -> int | None:
            with factory() as session:
                return count(session, bucket)

        return run


async def _too_many(send: Send, wait: int) -> None:
    body = TOO_MANY.format(minutes=max(1, math.ceil(wait / 60))).encode()
    headers = [
        (b"content-type", b"text/html; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(wait).encode()),
        (b"cache-control", b"no-store"),
    ]
    await send({"type": "http.response.start", "status": 429, "headers": headers})
    await send({"type": "http.response.body", "body": body})
