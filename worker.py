"""The Temporal worker: runs gigcover's workflows and activities.

python worker.py            (settings from GIGCOVER_* environment variables, see common/settings.py)
"""

import asyncio
import logging
import signal
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import Interceptor, Worker

from activities.registry import build_activities
from common.logs import configure_logging
from common.settings import Settings, get_settings
from common.startup import refuse_bad_settings
from db.engine import make_engine, make_session_factory
from integrations import temporal
from observability.tracing import configure_tracing
from outbox.dispatch import Dispatcher
from outbox.records import track_commits
from outbox.schedule import ensure_schedules
from outbox.senders import FirstAttempt
from workflows.registry import WORKFLOW_RUNNER, WORKFLOWS

log = logging.getLogger("gigcover.worker")


def build_worker(
    client: Client,
    settings: Settings,
    session_factory: sessionmaker[Session],
    executor: ThreadPoolExecutor,
    interceptors: Sequence[Interceptor] = (),
) -> Worker:
    """Must be called on the event loop the worker will run on (the dispatcher schedules onto it)."""
    first_attempt = FirstAttempt.from_settings(session_factory, settings)
    dispatcher = Dispatcher(client, settings, session_factory, asyncio.get_running_loop(), first_attempt)
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=WORKFLOWS,
        workflow_runner=WORKFLOW_RUNNER,
        activities=build_activities(session_factory, settings, dispatcher),
        activity_executor=executor,
        max_concurrent_activities=settings.worker_activity_threads,
        max_cached_workflows=settings.worker_max_cached_workflows,
        interceptors=interceptors,
    )


def worker_runtime(settings: Settings) -> Runtime | None:
    """With ``GIGCOVER_WORKER_METRICS_ADDRESS``, the Temporal SDK serves its metrics (workflow and activity
    task latencies, slots, polls…) in Prometheus format there; the endpoint is the worker's health check."""
    if not settings.worker_metrics_address:
        return None
    return Runtime(
        telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=settings.worker_metrics_address))
    )


async def main(interceptors: Sequence[Interceptor] = ()) -> None:
    settings = get_settings()
    configure_logging(log_format=settings.log_format)
    configure_tracing(settings, "gigcover-worker")
    client = await temporal.connect(settings, worker_runtime(settings))
    engine = make_engine(settings.resolved_database_url, settings.database_pool_size)
    await ensure_schedules(client, settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    # sync activities (database, Stripe SDK) run on these threads
    with ThreadPoolExecutor(max_workers=settings.worker_activity_threads) as executor:
        factory = track_commits(make_session_factory(engine))
        worker = build_worker(client, settings, factory, executor, interceptors)
        async with worker:
            log.info("worker polling task queue %r on %s", settings.task_queue, settings.temporal_address)
            await stop.wait()
            log.info("worker stopping")
    engine.dispose()


if __name__ == "__main__":
    refuse_bad_settings("worker")  # e.g. a test-mode Stripe key in the production slot
    asyncio.run(main())
