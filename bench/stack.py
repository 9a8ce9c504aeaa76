"""The stack the benchmarks run against, all on loopback: a Temporal dev server, localstripe, an SMTP sink,
a SQLite database, the real API on uvicorn and the real worker."""

import asyncio
import shutil
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.main import create_app  # noqa: E402
from common.settings import Settings  # noqa: E402
from common.temporal import SEARCH_ATTRIBUTES  # noqa: E402
from db.catalog import seed_catalog  # noqa: E402
from db.engine import make_engine, make_session_factory  # noqa: E402
from db.migrate import upgrade_to_head  # noqa: E402
from outbox.records import track_commits  # noqa: E402
from tests.support import Org, SmtpSink, free_port, make_org, serve  # noqa: E402
from worker import ACTIVITY_THREADS, build_worker  # noqa: E402


@dataclass
class Stack:
    env: WorkflowEnvironment
    settings: Settings
    factory: sessionmaker[Session]
    org: Org
    api_url: str
    stripe_url: str


@asynccontextmanager
async def running_stack(notice_seconds: int = 0) -> AsyncIterator[Stack]:
    temporal = shutil.which("temporal", path=str(Path(sys.executable).parent)) or "temporal"
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal,
        search_attributes=list(SEARCH_ATTRIBUTES),
        dev_server_log_level="error",
        data_converter=pydantic_data_converter,
    )
    data = Path(tempfile.mkdtemp(prefix="gigcover-bench-"))
    stripe_port, api_port = free_port(), free_port()
    stripe = subprocess.Popen(
        [sys.executable, "-m", "devstack.localstripe_server", "--port", str(stripe_port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    sink = SmtpSink().start()
    settings = Settings(
        _env_file=None,
        data_dir=data,
        database_url=f"sqlite:///{data / 'bench.db'}",
        temporal_address=env.client.service_client.config.target_host,
        smtp_port=sink.port,
        stripe_api_base=f"http://127.0.0.1:{stripe_port}",
        public_base_url=f"http://127.0.0.1:{api_port}",
        assignment_notice_seconds=notice_seconds,
    )
    upgrade_to_head(settings.resolved_database_url)
    engine = make_engine(settings.resolved_database_url)
    factory = track_commits(make_session_factory(engine))
    with factory() as session:
        seed_catalog(session)
    org = make_org(factory, "Bench Platform")
    await asyncio.sleep(1.5)  # localstripe
    try:
        with (
            serve(create_app(settings), api_port) as api,
            ThreadPoolExecutor(max_workers=ACTIVITY_THREADS) as executor,
        ):
            async with build_worker(env.client, settings, factory, executor):
                yield Stack(env, settings, factory, org, api, settings.stripe_api_base or "")
    finally:
        stripe.terminate()
        sink.stop()
        engine.dispose()
        shutil.rmtree(data, ignore_errors=True)
        await env.shutdown()
