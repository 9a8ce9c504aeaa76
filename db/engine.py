"""Engine and session factory. SQLite gets WAL and a busy timeout so the API and worker can share it."""

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Self, TypeVar, overload

from sqlalchemy import CursorResult, Engine, Result, create_engine, event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")
C = TypeVar("C", bound=sqlite3.Cursor)
BUSY_TIMEOUT_MS = 30_000
# How long a request's own bookkeeping (a rate-limit count, a key's last use) waits for the write lock.
BOOKKEEPING_WAIT_SECONDS = 0.25


class _TakeTurnsWriting(sqlite3.Connection):
    """SQLite lets one connection write at a time; the others wait in its busy handler, which sleeps in
    steps of up to 100 ms and so wakes late. Connections of one process instead queue on a lock, held from a
    transaction's first write until its commit or rollback, and the next writer starts the moment it is
    free. (Measured: most of the worker's activity time under load was spent in that busy wait.) Other
    processes still meet SQLite's own lock and busy timeout."""

    writer = threading.Lock()  # replaced per engine in make_engine
    wait_seconds = 30.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.holding = False

    @overload
    def cursor(self, factory: None = None) -> sqlite3.Cursor: ...
    @overload
    def cursor(self, factory: Callable[[sqlite3.Connection], C]) -> C: ...
    def cursor(self, factory: Callable[[sqlite3.Connection], sqlite3.Cursor] | None = None) -> sqlite3.Cursor:
        return super().cursor(factory or _Cursor)

    def turn(self) -> None:
        if not self.holding:
            # A thread that writes through two connections at once would wait on itself: after the wait,
            # carry on and let SQLite's busy timeout decide, as it would without this lock.
            self.holding = self.writer.acquire(timeout=self.wait_seconds)

    def done(self) -> None:
        if self.holding:
            self.holding = False
            self.writer.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.done()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.done()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.done()


class _Cursor(sqlite3.Cursor):
    def _turn_if_writing(self, sql: str) -> None:
        connection = self.connection
        if isinstance(connection, _TakeTurnsWriting) and sql.lstrip()[:7].upper().startswith(WRITES):
            connection.turn()

    def execute(self, sql: str, parameters: Any = (), /) -> Self:
        self._turn_if_writing(sql)
        return super().execute(sql, parameters)

    def executemany(self, sql: str, parameters: Any, /) -> Self:
        self._turn_if_writing(sql)
        return super().executemany(sql, parameters)


def make_engine(url: str, pool_size: int = 32) -> Engine:
    """``pool_size``: connections kept open, enough for every thread that may use one at once; a smaller
    pool closes and reopens connections under load (and SQLite's pragmas run again on each)."""
    if url.startswith("sqlite"):
        writers = type("TakeTurnsWriting", (_TakeTurnsWriting,), {"writer": threading.Lock()})
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30, "factory": writers},
            pool_size=pool_size,
            max_overflow=pool_size,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=pool_size, max_overflow=10)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


class WriteLockBusy(Exception):
    """The database's write lock stayed taken longer than the write was willing to wait (rolled back)."""


def _lock_wait_exceeded(error: OperationalError) -> bool:
    code = getattr(error.orig, "sqlstate", None)  # PostgreSQL: lock_not_available
    return (
        code == "55P03"
        or "database is locked" in str(error.orig)
        or "database table is locked" in str(error.orig)
    )


@contextmanager
def committed_briefly(session: Session, seconds: float = BOOKKEEPING_WAIT_SECONDS) -> Iterator[None]:
    """Run the writes of the block, then commit them, waiting at most ``seconds`` for the database's write
    lock (SQLite's single writer, this process's turn to write, a PostgreSQL row lock) instead of the usual
    30 s. If the lock stays taken, everything is rolled back and ``WriteLockBusy`` raised: for writes a
    request may skip (its own bookkeeping) rather than wait behind a writer that waits on the network.
    The block must not commit: the short wait is undone before the commit hands the connection back."""
    connection = session.connection()
    raw = connection.connection.dbapi_connection
    sqlite = raw if isinstance(raw, _TakeTurnsWriting) else None
    if sqlite is not None:
        sqlite.wait_seconds = seconds  # this connection's turn among the process's writers
        connection.exec_driver_sql(f"PRAGMA busy_timeout={int(seconds * 1000)}")
    else:
        connection.execute(text(f"SET LOCAL lock_timeout = {int(seconds * 1000)}"))

    def restore() -> None:
        if sqlite is not None:
            del sqlite.wait_seconds
            sqlite.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")

    try:
        yield
    except OperationalError as error:
        restore()
        session.rollback()
        if _lock_wait_exceeded(error):
            raise WriteLockBusy(str(error.orig)) from None
        raise
    except BaseException:
        restore()
        session.rollback()
        raise
    restore()  # the write lock is ours by now: the commit itself does not wait for it
    session.commit()


def rows_changed(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE changed (what ``Session.execute`` answers to one)."""
    assert isinstance(result, CursorResult)
    return result.rowcount
