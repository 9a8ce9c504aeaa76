"""The Temporal worker: runs gigcover's workflows and activities.

python worker.py            (settings from GIGCOVER_* environment variables, see common/settings.py)
"""

import asyncio
import logging
import signal
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client
from temporalio.worker import Worker

from activities import build_activities
from common import temporal
from common.settings import Settings, get_settings
from db.engine import make_engine, make_session_factory
from workflows import WORKFLOWS

log = logging.getLogger("gigcover.worker")
ACTIVITY_THREADS = 32  # sync activities (database, Stripe SDK) run on this many threads


def build_worker(
    client: Client, settings: Settings, session_factory: sessionmaker[Session], executor: ThreadPoolExecutor
) -> Worker:
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=WORKFLOWS,
        activities=build_activities(session_factory),
        activity_executor=executor,
        max_concurrent_activities=ACTIVITY_THREADS,
    )


async def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = get_settings()
    client = await temporal.connect(settings)
    engine = make_engine(settings.resolved_database_url)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    with ThreadPoolExecutor(max_workers=ACTIVITY_THREADS) as executor:
        worker = build_worker(client, settings, make_session_factory(engine), executor)
        async with worker:
            log.info("worker polling task queue %r on %s", settings.task_queue, settings.temporal_address)
            await stop.wait()
            log.info("worker stopping")
    engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
