"""No read waits on a writer that waits on the network.

Every API request writes its own bookkeeping (the key's rate-limit count, the key's ``last_used_at``), and
SQLite has one writer: a worker's transaction that waited on a stalled processor held every read behind it,
which answered 500 ``database is locked`` after SQLite's 30 s busy timeout. Here another process's writer
holds the database's write lock (as such a transaction would) while the platform reads through the official
client: every read answers 200 at once, and the counts the requests could not write catch up afterwards, so
the limit still holds across processes.
"""

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
import ten99policy
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from api.throttle import SharedCounter
from common.settings import Settings
from db.models import ApiKey, RateCounter
from services.api_keys import hash_key
from tests.support import Org
from tests.test_assignments_api import _card_paid_assignment

pytestmark = pytest.mark.usefixtures("worker")
PROMPT = 2.0  # seconds: what "at once" allows a read on a busy test machine
HELD = 12.0  # seconds the write lock is held at most (a read that waits for it fails PROMPT)


@contextmanager
def write_lock_held(database_url: str, at_most: float = HELD) -> Iterator[None]:
    """Another connection (as another process's) takes the database's write lock and keeps it until the
    block ends, or ``at_most`` seconds: SQLite's single writer lock; on PostgreSQL, the locks of a writer of
    every table the API's bookkeeping writes (reads still go through)."""
    released = threading.Event()
    if database_url.startswith("sqlite"):
        connection: sqlite3.Connection | psycopg.Connection = sqlite3.connect(
            database_url.removeprefix("sqlite:///"), isolation_level=None, check_same_thread=False
        )
        connection.execute("BEGIN IMMEDIATE")
    else:
        connection = psycopg.connect(database_url.replace("postgresql+psycopg://", "postgresql://"))
        connection.execute("LOCK TABLE rate_counters, api_keys, member_sessions IN EXCLUSIVE MODE")

    def release() -> None:
        if not released.is_set():
            released.set()
            connection.rollback()
            connection.close()

    timer = threading.Timer(at_most, release)
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        release()


def _timed(call: object) -> float:
    started = time.monotonic()
    call()  # type: ignore[operator]
    return time.monotonic() - started


def test_reads_answer_at_once_while_another_writer_holds_the_write_lock(
    client: object,
    org: Org,
    session_factory: sessionmaker[Session],
    settings: Settings,
    localstripe: str,
    database_url: str,
) -> None:
    contractor, job, quote, policy, assignment = _card_paid_assignment(
        session_factory, settings, org, localstripe
    )
    with session_factory() as session:  # the key's last use is due to be recorded again
        session.execute(
            update(ApiKey).where(ApiKey.key_hash == hash_key(org.sandbox_key)).values(last_used_at=None)
        )
        session.commit()
    reads = {
        "GET /assignments/{id}": lambda: ten99policy.Assignments.retrieve(assignment["id"]),
        "GET /assignments": lambda: ten99policy.Assignments.list(limit=10),
        "GET /contractors/{id}": lambda: ten99policy.Contractors.retrieve(contractor),
        "GET /jobs/{id}": lambda: ten99policy.Jobs.retrieve(job),
        "GET /quotes/{id}": lambda: ten99policy.Quotes.retrieve(quote["id"]),
        "GET /policies/{id}": lambda: ten99policy.Policies.retrieve(policy["id"]),
    }
    waited: dict[str, float] = {}
    with write_lock_held(database_url):
        for name, read in reads.items():
            waited[name] = _timed(read)  # raises on anything but 200
        found = ten99policy.Assignments.retrieve(assignment["id"])
    assert all(seconds < PROMPT for seconds in waited.values()), waited
    assert (found["id"], found["contractor"], found["premium"]) == (
        assignment["id"],
        contractor,
        assignment["premium"],
    )
    # Once the lock is free, the key's use is recorded again.
    ten99policy.Assignments.retrieve(assignment["id"])
    with session_factory() as session:
        used = session.scalar(select(ApiKey.last_used_at).where(ApiKey.key_hash == hash_key(org.sandbox_key)))
    assert used is not None and used >= int(time.time()) - 60


def test_hits_counted_while_the_lock_was_held_are_written_later_and_the_limit_holds_across_processes(
    session_factory: sessionmaker[Session], database_url: str
) -> None:
    """Two API processes (two counters) share one key's limit of 5 an hour. While the write lock is taken,
    the first process counts 3 hits at once without the database (refusing none); when it is free again, its
    next hit writes all 4, and the other process's next hits find the window full after the 5th."""
    bucket = f"key:outage-{time.time_ns()}"
    first, second = SharedCounter(5, 3600), SharedCounter(5, 3600)
    with session_factory() as session, write_lock_held(database_url):
        waited = [_timed(lambda: first.hit(session, bucket)) for _ in range(3)]
    assert all(seconds < PROMPT for seconds in waited), waited
    with session_factory() as session:
        assert first.hit(session, bucket) is None  # the 4th, with the 3 held ones
        assert session.scalar(select(RateCounter.count).where(RateCounter.bucket == bucket)) == 4
        assert second.hit(session, bucket) is None  # the 5th
        assert second.hit(session, bucket) is not None  # the 6th: refused
    # A process cut off from the database for a whole window still refuses by its own count.
    alone = SharedCounter(2, 3600)
    with session_factory() as session, write_lock_held(database_url):
        outcomes = [alone.hit(session, f"{bucket}:alone") for _ in range(3)]
    assert outcomes[:2] == [None, None] and outcomes[2] is not None
