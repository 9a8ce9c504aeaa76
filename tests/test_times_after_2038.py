"""Issue 22, "2038": times (unix seconds) and amounts (cents) are 64-bit on both databases. Coverage can end
in 2039, rows can be created in 2039, and migration 0017 keeps every value of a populated database (run
from 0012 with rows present). Each test runs on SQLite and, when GIGCOVER_TEST_POSTGRES_URL is set (CI), on
PostgreSQL, where the columns were 32-bit INTEGERs before."""

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from common.ids import new_id
from db.engine import make_engine
from db.migrate import ROOT as DB_ROOT
from db.models import Event, Payment
from tests.conftest import BACKENDS
from tests.support import Org, contractor_fields, entity_fields, job_fields

IN_2039 = int(datetime(2039, 3, 1, tzinfo=UTC).timestamp())  # past 2**31 - 1 (2038-01-19)
BIG_CENTS = 2**31 + 12_345  # more than a 32-bit column holds


def _at(year: int, month: int, day: int) -> int:
    return int(datetime(year, month, day, tzinfo=UTC).timestamp())


@pytest.fixture(params=BACKENDS)
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of its own (the suite's shared one is already at head)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'before-0017.db'}"
        return
    server = make_url(os.environ["GIGCOVER_TEST_POSTGRES_URL"])
    name = f"gigcover_migration_{os.getpid()}"
    admin = make_engine(server.render_as_string(hide_password=False)).execution_options(
        isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield server.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_the_migration_keeps_every_value_and_then_holds_2039(empty_database: str) -> None:
    config = Config(str(DB_ROOT / "alembic.ini"))
    config.attributes["url"] = empty_database
    command.upgrade(config, "0012")
    engine = make_engine(empty_database)
    latest_32 = 2**31 - 1
    with engine.begin() as conn:  # rows as 0012 left them, at the edge of what 32 bits hold
        conn.execute(
            text(
                "INSERT INTO organizations (id, name, created, withhold_premium) "
                "VALUES ('org_m', 'Migrated', :t, false)"
            ),
            {"t": latest_32},
        )
        conn.execute(
            text(
                "INSERT INTO payments (idempotency_key, payment_intent_id, amount, status, created) "
                "VALUES ('k1', 'pi_1', :a, 'captured', :t)"
            ),
            {"a": latest_32, "t": 1_700_000_000},
        )
    command.upgrade(config, "head")
    with engine.begin() as conn:
        assert (
            conn.execute(text("SELECT created FROM organizations WHERE id = 'org_m'")).scalar() == latest_32
        )
        assert conn.execute(text("SELECT amount, created FROM payments")).one() == (latest_32, 1_700_000_000)
        conn.execute(
            text(
                "INSERT INTO payments (idempotency_key, payment_intent_id, amount, status, created) "
                "VALUES ('k2', 'pi_2', :a, 'captured', :t)"
            ),
            {"a": BIG_CENTS, "t": IN_2039},
        )
        conn.execute(text("UPDATE organizations SET created = :t"), {"t": IN_2039})
        assert conn.execute(
            text("SELECT amount, created FROM payments WHERE idempotency_key = 'k2'")
        ).one() == (
            BIG_CENTS,
            IN_2039,
        )
        assert conn.execute(text("SELECT created FROM organizations")).scalar() == IN_2039
    if engine.dialect.name == "postgresql":
        types = {c["name"]: str(c["type"]) for c in inspect(engine).get_columns("assignments")}
        assert types["end_date"] == types["created"] == types["premium"] == "BIGINT"
        assert types["net_rate"] == "INTEGER"  # a rate, not a time or an amount
    engine.dispose()


@pytest.fixture
def http(api_url: str, org: Org) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{api_url}/api/v1", auth=(org.sandbox_key, ""), timeout=30) as client:
        yield client


def test_coverage_can_end_in_2039(http: httpx.Client) -> None:
    entity = http.post("/entities", json=entity_fields()).json()["id"]
    contractor = http.post("/contractors", json=contractor_fields()).json()["id"]
    job = http.post("/jobs", json=job_fields(entity)).json()["id"]
    start, end = _at(2039, 1, 10), _at(2039, 2, 9)
    quote = http.post(
        "/quotes",
        json={
            "contractor": contractor,
            "job": job,
            "coverage_type": ["general"],
            "effective_date": start,
            "end_date": end,
        },
    )
    assert quote.status_code == 201, quote.text
    assert (quote.json()["effective_date"], quote.json()["end_date"]) == (start, end)
    policy = http.post("/policies", json={"quote": quote.json()["id"]})
    assert policy.status_code == 201, policy.text
    stored = http.get(f"/policies/{policy.json()['id']}").json()
    assert (stored["effective_date"], stored["expiration_date"]) == (start, end)
    beyond = http.post(
        "/quotes",
        json={
            "contractor": contractor,
            "job": job,
            "coverage_type": ["general"],
            "effective_date": _at(9999, 12, 25),
        },
    )
    assert beyond.status_code == 400 and "9999-12-31" in beyond.json()["message"]


def test_rows_created_in_2039_are_stored_and_read_back(
    http: httpx.Client, org: Org, session_factory: sessionmaker[Session]
) -> None:
    """As the clock will say in 2039: an event and a payment stamped then, read back through the API."""
    event_id = new_id("event")
    with session_factory() as session:
        session.add(
            Event(
                id=event_id,
                organization_id=org.id,
                environment="sandbox",
                created=IN_2039,
                type="policy.active",
                data={"object": "policy"},
            )
        )
        session.add(
            Payment(
                idempotency_key=f"2039:{event_id}",
                payment_intent_id="pi_2039",
                amount=BIG_CENTS,
                status="captured",
                created=IN_2039,
            )
        )
        session.commit()
    assert http.get(f"/events/{event_id}").json()["created"] == IN_2039
    with session_factory() as session:
        payment = session.query(Payment).filter_by(idempotency_key=f"2039:{event_id}").one()
        assert (payment.amount, payment.created) == (BIG_CENTS, IN_2039)
