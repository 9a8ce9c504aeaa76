"""Requests paced evenly across every process on the database: each caller takes the next free slot of its
bucket (one atomic upsert) and waits until it comes. With slots ``interval`` apart, no window of a second
ever holds more than the rate, however many workers share the key (CreatorIQ allows 5 a second per key)."""

import time
from collections.abc import Callable

from sqlalchemy import case
from sqlalchemy.orm import Session, sessionmaker

from db.models import RatePace
from db.upsert import insert_for

PACES = RatePace.__table__


def take_slot(session: Session, bucket: str, interval_ms: int, now_ms: int | None = None) -> float:
    """Reserve the bucket's next slot; returns the seconds to wait before using it (0 when it is now)."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    insert = insert_for(session, RatePace).values(bucket=bucket, next_at_ms=now_ms + interval_ms)
    later_of = case((PACES.c.next_at_ms > now_ms, PACES.c.next_at_ms), else_=now_ms)
    upsert = insert.on_conflict_do_update(
        index_elements=[PACES.c.bucket], set_={"next_at_ms": later_of + interval_ms}
    ).returning(PACES.c.next_at_ms)
    next_free = session.execute(upsert).scalar_one()
    session.commit()
    return max(0.0, (next_free - interval_ms - now_ms) / 1000)


def shared_pacer(factory: sessionmaker[Session], interval_ms: int) -> Callable[[str], None]:
    """A function that blocks until ``bucket`` may send its next request."""

    def wait_turn(bucket: str) -> None:
        with factory() as session:
            wait = take_slot(session, bucket, interval_ms)
        if wait:
            time.sleep(wait)

    return wait_turn
