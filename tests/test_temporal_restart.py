"""The Temporal dev server is killed and restarted on the same SQLite file while 100 card-paid assignments
are in flight (in their notice window, or at an activity): every one of them is charged exactly once and
becomes active."""

import asyncio
import collections
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.main import create_app
from common.settings import Settings
from common.temporal import search_attribute_flags
from db.models import Assignment
from tests.conftest import temporal_cli
from tests.support import (
    Org,
    assignment_request,
    free_port,
    insured_contractors,
    raw_stripe,
    serve,
    worker_running,
)

IN_FLIGHT = 100
NOTICE_SECONDS = 25


def start_dev_server(port: int, database: Path) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [
            temporal_cli(),
            "server",
            "start-dev",
            "--ip",
            "127.0.0.1",
            "--port",
            str(port),
            "--headless",
            "--db-filename",
            str(database),
            "--log-level",
            "error",
            *search_attribute_flags(),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}", timeout=1)
        except httpx.RemoteProtocolError:
            return server  # gRPC is answering
        except httpx.HTTPError:
            time.sleep(0.2)
            continue
        return server
    raise RuntimeError("the Temporal dev server did not start")


@pytest.fixture
def own_temporal(tmp_path: Path) -> Iterator[tuple[int, Path, list[subprocess.Popen[bytes]]]]:
    port, database = free_port(), tmp_path / "temporal.db"
    servers = [start_dev_server(port, database)]
    yield port, database, servers
    for server in servers:
        server.kill()
        server.wait()


def charges_by_assignment(localstripe: str) -> dict[str, list[tuple[str, int]]]:
    intents = raw_stripe(localstripe).v1.payment_intents.list(params={"limit": 100})  # type: ignore[attr-defined]
    found: dict[str, list[tuple[str, int]]] = collections.defaultdict(list)
    for intent in intents.auto_paging_iter():
        owner = intent.to_dict().get("metadata", {}).get("assignment")
        if owner:
            found[owner].append((intent.status, intent.amount))
    return found


def test_a_temporal_restart_loses_no_assignment_and_charges_none_twice(
    own_temporal: tuple[int, Path, list[subprocess.Popen[bytes]]],
    settings: Settings,
    session_factory: sessionmaker[Session],
    org: Org,
    localstripe: str,
) -> None:
    port, database, servers = own_temporal
    ours = settings.model_copy(
        update={
            "temporal_address": f"127.0.0.1:{port}",
            "assignment_notice_seconds": NOTICE_SECONDS,
        }
    )
    with (
        worker_running(ours.temporal_address, ours, session_factory),
        serve(create_app(ours), settings=ours) as api,
    ):

        async def create_assignments() -> list[str]:
            async with httpx.AsyncClient(
                base_url=f"{api}/api/v1", auth=(org.sandbox_key, ""), timeout=120
            ) as http:
                insured = await insured_contractors(http, session_factory, ours, org, localstripe, IN_FLIGHT)
                created = await asyncio.gather(
                    *(http.post("/assignments", json=assignment_request(*one)) for one in insured)
                )
                assert {r.status_code for r in created} == {201}
                return [r.json()["id"] for r in created]

        assignments = asyncio.run(create_assignments())
        servers[0].send_signal(signal.SIGKILL)  # mid-flight: some in activities, most in their notice window
        servers[0].wait()
        time.sleep(2)
        servers.append(start_dev_server(port, database))

        def statuses() -> dict[str, str]:
            with session_factory() as session:
                rows = session.execute(
                    select(Assignment.id, Assignment.status).where(Assignment.id.in_(assignments))
                )
                return dict(rows.all())

        deadline = time.monotonic() + NOTICE_SECONDS + 240
        while time.monotonic() < deadline and set(statuses().values()) != {"active"}:
            time.sleep(1)
        assert collections.Counter(statuses().values()) == {"active": IN_FLIGHT}
        charges = charges_by_assignment(localstripe)
        assert {a: [s for s, _ in charges[a]] for a in assignments} == {a: ["succeeded"] for a in assignments}
