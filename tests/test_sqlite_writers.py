"""SQLite writers of one process take turns on a lock instead of sleeping in SQLite's busy handler."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import text

from db.engine import make_engine


def _engine(tmp_path: Path):  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'writers.db'}", pool_size=8)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, who TEXT)"))
    return engine


def test_many_threads_writing_at_once_all_commit(tmp_path: Path) -> None:
    engine = _engine(tmp_path)

    def write(thread: int) -> None:
        for i in range(50):
            with engine.begin() as connection:
                connection.execute(text("INSERT INTO t (who) VALUES (:who)"), {"who": f"{thread}-{i}"})

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(write, range(16)))
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*), count(DISTINCT who) FROM t")).one() == (800, 800)
    engine.dispose()


def test_a_rolled_back_or_abandoned_transaction_hands_the_turn_on(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    with engine.connect() as connection:
        connection.execute(text("INSERT INTO t (who) VALUES ('rolled back')"))
        connection.rollback()
    with engine.connect() as connection:  # closed with a write open: the pool rolls it back
        connection.execute(text("INSERT INTO t (who) VALUES ('abandoned')"))

    waited: list[float] = []

    def write_from_another_thread() -> None:
        started = time.monotonic()
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO t (who) VALUES ('next')"))
        waited.append(time.monotonic() - started)

    thread = threading.Thread(target=write_from_another_thread)
    thread.start()
    thread.join(timeout=10)
    assert waited and waited[0] < 1
    with engine.connect() as connection:
        assert connection.execute(text("SELECT who FROM t")).scalars().all() == ["next"]
    engine.dispose()
