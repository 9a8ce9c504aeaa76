"""The stack the benchmarks run against: `make run`'s own (`python -m devstack.run`), each piece in its own
process on loopback (Temporal dev server on a SQLite file, localstripe, the mailbox, the worker, the API),
in a fresh data folder. The benchmark itself plays the platform: it calls the API and receives webhooks."""

import argparse
import json
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common.settings import Settings  # noqa: E402
from db.engine import make_engine, make_session_factory  # noqa: E402
from tests.support import Org, RunningStack, cpu_seconds, rss_mib, stack_ports  # noqa: E402


@dataclass
class Stack:
    running: RunningStack
    client: Client
    settings: Settings  # the stack's own settings, for the benchmark's direct database and Stripe calls
    factory: sessionmaker[Session]
    org: Org
    api_url: str
    stripe_url: str

    def memory_mib(self) -> dict[str, float]:
        """Resident memory of each piece of the stack (all its worker processes together), in MiB."""
        return {name: sum(map(rss_mib, pids)) for name, pids in sorted(self.running.pieces().items())}

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time each piece of the stack has used so far, in seconds (subtract two readings)."""
        return {name: sum(map(cpu_seconds, pids)) for name, pids in sorted(self.running.pieces().items())}


@asynccontextmanager
async def running_stack(notice_seconds: int = 0, **settings: str) -> AsyncIterator[Stack]:
    """``settings``: more GIGCOVER_* environment variables for the stack's processes."""
    data = Path(tempfile.mkdtemp(prefix="gigcover-bench-"))
    ports = stack_ports()
    running = RunningStack(
        data,
        ports,
        {
            "GIGCOVER_ASSIGNMENT_NOTICE_SECONDS": str(notice_seconds),
            # the benchmarks' clients share one key and outrun the default 100 requests/s on purpose
            "GIGCOVER_RATE_LIMIT_REQUESTS": "0",
            **settings,
        },
    )
    engine = None
    try:
        running.wait_ready()
        saved = json.loads((data / "demo-organization.json").read_text())
        org = Org(saved["organization"], saved["sandbox_key"], saved["production_key"])
        stack_settings = Settings(
            _env_file=None,
            data_dir=data,
            stripe_api_base=f"http://127.0.0.1:{ports['STRIPE']}",
            temporal_address=f"127.0.0.1:{ports['TEMPORAL']}",
        )
        engine = make_engine(stack_settings.resolved_database_url)
        client = await Client.connect(stack_settings.temporal_address, data_converter=pydantic_data_converter)
        yield Stack(
            running,
            client,
            stack_settings,
            make_session_factory(engine),
            org,
            f"http://127.0.0.1:{ports['API']}",
            stack_settings.stripe_api_base or "",
        )
    finally:
        if running.process.poll() is None:
            running.interrupt()
        if engine is not None:
            engine.dispose()
        shutil.rmtree(data, ignore_errors=True)


def add_settings_option(parser: argparse.ArgumentParser, whose: str) -> None:
    """``--set GIGCOVER_NAME=value`` (repeatable): a setting for ``whose`` processes, to try a tuning."""
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="GIGCOVER_NAME=VALUE",
        help=f"a setting for {whose} processes, to try a tuning (repeatable)",
    )


def chosen_settings(arguments: argparse.Namespace) -> dict[str, str]:
    return dict(item.split("=", 1) for item in arguments.set)
