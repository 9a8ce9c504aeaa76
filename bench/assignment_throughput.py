"""Benchmark: end-to-end card-paid assignments against a bare baseline on the same Temporal dev server.

    .venv/bin/python -m bench.assignment_throughput --count 40

Card-paid assignment: API POST /assignments -> workflow -> bind (certificate) -> reminder email -> charge in
localstripe (notice window 0) -> assignment.active -> webhook delivered to a receiver. Baseline, in the same
run: a workflow with the same number of no-op activities and a zero-length timer. Prints assignments per
second, the baseline's workflows per second, their ratio, and the history size of one assignment.
"""

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.main import create_app  # noqa: E402
from bench.baseline import BaselineWorkflow, noop  # noqa: E402
from common.settings import Settings  # noqa: E402
from common.temporal import SEARCH_ATTRIBUTES  # noqa: E402
from db.catalog import seed_catalog  # noqa: E402
from db.engine import make_engine, make_session_factory  # noqa: E402
from db.migrate import upgrade_to_head  # noqa: E402
from outbox.records import track_commits  # noqa: E402
from tests.support import (  # noqa: E402
    SmtpSink,
    WebhookReceiver,
    contractor_fields,
    entity_fields,
    free_port,
    job_fields,
    make_org,
    serve,
)
from tests.test_assignment_workflow import save_card  # noqa: E402
from worker import ACTIVITY_THREADS, build_worker  # noqa: E402


async def baseline(client: Client, count: int, activities: int) -> float:
    async with Worker(client, task_queue="baseline", workflows=[BaselineWorkflow], activities=[noop]):
        started = time.perf_counter()
        handles = [
            await client.start_workflow(
                BaselineWorkflow.run, activities, id=f"baseline-{time.time_ns()}-{i}", task_queue="baseline"
            )
            for i in range(count)
        ]
        await asyncio.gather(*(h.result() for h in handles))
        return count / (time.perf_counter() - started)


def localstripe_process(port: int) -> "asyncio.subprocess.Process":
    import subprocess

    return subprocess.Popen(
        [sys.executable, "-m", "devstack.localstripe_server", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )  # type: ignore[return-value]


async def main(count: int) -> None:
    temporal = shutil.which("temporal", path=str(Path(sys.executable).parent)) or "temporal"
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal,
        search_attributes=list(SEARCH_ATTRIBUTES),
        dev_server_log_level="error",
        data_converter=pydantic_data_converter,
    )
    data = Path(tempfile.mkdtemp(prefix="gigcover-bench-"))
    stripe_port, api_port = free_port(), free_port()
    stripe = localstripe_process(stripe_port)
    sink = SmtpSink().start()
    settings = Settings(
        _env_file=None,
        data_dir=data,
        database_url=f"sqlite:///{data / 'bench.db'}",
        temporal_address=env.client.service_client.config.target_host,
        smtp_port=sink.port,
        stripe_api_base=f"http://127.0.0.1:{stripe_port}",
        public_base_url=f"http://127.0.0.1:{api_port}",
        assignment_notice_seconds=0,
    )
    upgrade_to_head(settings.resolved_database_url)
    engine = make_engine(settings.resolved_database_url)
    factory = track_commits(make_session_factory(engine))
    with factory() as session:
        seed_catalog(session)
    org = make_org(factory, "Bench Platform")
    receiver = WebhookReceiver()
    await asyncio.sleep(1.5)  # localstripe
    try:
        with (
            serve(receiver.app) as hook_url,
            serve(create_app(settings), api_port) as api,
            ThreadPoolExecutor(max_workers=ACTIVITY_THREADS) as executor,
        ):
            async with (
                build_worker(env.client, settings, factory, executor),
                httpx.AsyncClient(base_url=f"{api}/api/v1", auth=(org.sandbox_key, ""), timeout=60) as http,
            ):
                await http.post(
                    "/webhook_endpoints", json={"url": f"{hook_url}/hooks", "events": ["assignment.active"]}
                )
                jobs = []
                for i in range(count):  # setup, not measured: a contractor with a policy and a saved card
                    entity = (await http.post("/entities", json=entity_fields())).json()["id"]
                    contractor = (
                        await http.post("/contractors", json=contractor_fields(f"b{i}@example.com"))
                    ).json()["id"]
                    job = (await http.post("/jobs", json=job_fields(entity))).json()["id"]
                    quote = (
                        await http.post(
                            "/quotes",
                            json={"contractor": contractor, "job": job, "coverage_type": ["workers-comp"]},
                        )
                    ).json()
                    await http.post("/policies", json={"quote": quote["id"]})
                    await asyncio.to_thread(
                        save_card,
                        factory,
                        settings,
                        org,
                        contractor,
                        "4242424242424242",
                        f"http://127.0.0.1:{stripe_port}",
                    )
                    jobs.append((contractor, job, quote))

                started = time.perf_counter()
                created = await asyncio.gather(
                    *(
                        http.post(
                            "/assignments",
                            json={
                                "contractor": c,
                                "job": j,
                                "effective_date": q["effective_date"],
                                "end_date": q["end_date"],
                            },
                        )
                        for c, j, q in jobs
                    )
                )
                while len(receiver.requests) < count:
                    await asyncio.sleep(0.02)
                assignment_rate = count / (time.perf_counter() - started)
                one = created[0].json()["id"]
                history = await env.client.get_workflow_handle(f"assignment-{one}").fetch_history()
                activities = sum(
                    e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED for e in history.events
                )

            baseline_rate = await baseline(env.client, count, activities)
    finally:
        stripe.terminate()
        sink.stop()
        engine.dispose()
        await env.shutdown()
    print(f"assignments (API POST -> charged -> certificate -> webhook delivered): {assignment_rate:.1f}/s")
    print(f"baseline ({activities} no-op activities + a timer, same server):        {baseline_rate:.1f}/s")
    print(f"ratio: {assignment_rate / baseline_rate:.2f}   (target >= 0.7)")
    print(
        f"history events of one card-paid assignment so far: {len(history.events)} (target <= 45), "
        f"activities: {activities}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=40)
    asyncio.run(main(parser.parse_args().count))
