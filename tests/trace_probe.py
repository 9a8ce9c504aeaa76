"""Run as its own process by tests/test_tracing.py (a tracer provider is global to a process): the API and
a worker with an in-memory span exporter; creates an application session and expires it through the API,
which starts a workflow, updates it and runs its activities; prints every finished span as a JSON line.
Arguments: temporal address, database url, localstripe url."""

import asyncio
import json
import os
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from api.main import create_app
from common.settings import Settings
from db.catalog import seed_catalog
from db.engine import make_engine, make_session_factory
from db.migrate import upgrade_to_head
from integrations import temporal
from observability.tracing import install_tracer
from outbox.records import track_commits
from tests.support import contractor_fields, entity_fields, free_port, job_fields, make_org, serve
from worker import build_worker


async def main(address: str, database_url: str, stripe: str) -> None:
    exporter = InMemorySpanExporter()
    install_tracer("trace-probe", exporter, batch=False)
    port = free_port()
    settings = Settings(
        _env_file=None,
        data_dir=Path(tempfile.mkdtemp()),
        database_url=database_url,
        temporal_address=address,
        public_base_url=f"http://127.0.0.1:{port}",
        stripe_api_base=stripe,
        first_attempt_budget_seconds=0,
        task_queue=f"trace-probe-{port}",  # only this process's worker: not the test session's
    )
    upgrade_to_head(database_url)
    factory = track_commits(make_session_factory(make_engine(database_url)))
    with factory() as session:
        seed_catalog(session)
    org = make_org(factory, "Trace Probe")
    client = await temporal.connect(settings)
    with ThreadPoolExecutor(max_workers=8) as executor:
        async with build_worker(client, settings, factory, executor):
            with serve(create_app(settings), port, settings) as url:
                async with httpx.AsyncClient(
                    base_url=f"{url}/api/v1", auth=(org.sandbox_key, ""), timeout=30
                ) as http:
                    entity = (await http.post("/entities", json=entity_fields())).json()["id"]
                    contractor = (await http.post("/contractors", json=contractor_fields())).json()["id"]
                    job = (await http.post("/jobs", json=job_fields(entity))).json()["id"]
                    quote = (
                        await http.post(
                            "/quotes",
                            json={"contractor": contractor, "job": job, "coverage_type": ["general"]},
                        )
                    ).json()["id"]
                    opened = (
                        await http.post(
                            "/apply/sessions",
                            json={"quote": quote, "success_url": url, "cancel_url": url},
                        )
                    ).json()
                    session, link = opened["id"], opened["url"]
                    print(json.dumps({"link": link}), flush=True)
                    for _ in range(50):  # the contractor opens the link (once its workflow runs)
                        if (await http.get(f"{link}?from=email")).status_code == 200:
                            break
                        await asyncio.sleep(0.2)
                    expired = await http.post(f"/apply/sessions/{session}/expire")
                    assert expired.status_code == 200, expired.text
    for span in exporter.get_finished_spans():
        print(
            json.dumps(
                {
                    "name": span.name,
                    "trace_id": format(span.context.trace_id, "032x"),
                    "span_id": format(span.context.span_id, "016x"),
                    "parent": format(span.parent.span_id, "016x") if span.parent else None,
                    "attributes": {k: str(v) for k, v in (span.attributes or {}).items()},
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
    sys.stdout.flush()
    # Skip interpreter finalization: the server's and the worker's threads may still be winding down, and
    # tearing down the interpreter under them can abort the process after every span was printed.
    os._exit(0)
