"""Benchmark: API latency of POST /assignments and GET /assignments/{id} under 50 concurrent clients (a
second process), against a bare FastAPI app doing the same database write and read on the same database.

    .venv/bin/python -m bench.api_latency --requests 500 --clients 50

Both apps are served the same way (uvicorn in a process of their own, as `make run` serves the API); the
real one has the rest of its stack beside it (the worker, Temporal), since every assignment starts a workflow.
"""

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from bench.stack import running_stack
from devstack.run import Stack as Processes
from devstack.run import wait_for_http
from tests.support import assignment_request, free_port, insured_contractors


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def load(
    url: str, key: str, clients: int, bodies: list | None = None, ids: list | None = None
) -> list[float]:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as items:
        json.dump(bodies if bodies is not None else ids, items)
    flag = "--bodies" if bodies is not None else "--ids"
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.load",
            "--url",
            url,
            "--key",
            key,
            "--clients",
            str(clients),
            flag,
            items.name,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    if out.stderr:
        print(out.stderr.strip(), file=sys.stderr)
    Path(items.name).unlink()
    return json.loads(out.stdout)


@contextmanager
def bare_api(database_url: str, organization_id: str) -> Iterator[str]:
    """The bare app in its own uvicorn process, started and awaited like `make run` starts the API."""
    port, logs = free_port(), Path(tempfile.mkdtemp(prefix="bare-api-"))
    env = {**os.environ, "BARE_DATABASE_URL": database_url, "BARE_ORGANIZATION_ID": organization_id}
    server = Processes()
    server.start(
        "bare-api",
        [
            *(sys.executable, "-m", "api.serve", "--app", "bench.bare_api:app_from_environment"),
            *("--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"),
        ],
        env,
        logs,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{url}/docs", server)
        yield url
    finally:
        server.stop()


def row(name: str, ours: list[float], bare: list[float]) -> str:
    p50, p99 = percentile(ours, 0.5), percentile(ours, 0.99)
    b50, b99 = percentile(bare, 0.5), percentile(bare, 0.99)
    return (
        f"| {name} | {p50:.0f} ms | {p99:.0f} ms | {b50:.0f} ms | {b99:.0f} ms | "
        f"{p50 / b50:.1f} | {p99 / b99:.1f} |"
    )


async def main(requests: int, clients: int) -> None:
    async with running_stack(notice_seconds=3600) as stack:
        key = stack.org.sandbox_key
        async with httpx.AsyncClient(base_url=f"{stack.api_url}/api/v1", auth=(key, ""), timeout=60) as http:
            insured = await insured_contractors(
                http, stack.factory, stack.settings, stack.org, stack.stripe_url, 10
            )
        bodies = [assignment_request(*insured[n % len(insured)]) for n in range(requests)]
        with bare_api(stack.settings.resolved_database_url, stack.org.id) as bare_url:
            bare_post = await asyncio.to_thread(load, f"{bare_url}/assignments", key, clients, bodies)
            ours_post = await asyncio.to_thread(
                load, f"{stack.api_url}/api/v1/assignments", key, clients, bodies
            )
            async with httpx.AsyncClient(auth=(key, ""), timeout=60) as http:
                page = (await http.get(f"{stack.api_url}/api/v1/assignments", params={"limit": 100})).json()
            ids = [a["id"] for a in page] * (requests // max(len(page), 1) + 1)
            ids = ids[:requests]
            bare_get = await asyncio.to_thread(load, bare_url + "/assignments/{}", key, clients, None, ids)
            ours_get = await asyncio.to_thread(
                load, stack.api_url + "/api/v1/assignments/{}", key, clients, None, ids
            )
    print(f"{requests} requests each, {clients} concurrent clients in a second process")
    print("| request | gigcover p50 | gigcover p99 | bare p50 | bare p99 | ratio p50 | ratio p99 |")
    print("|---|---|---|---|---|---|---|")
    print(row("POST /assignments", ours_post, bare_post))
    print(row("GET /assignments/{id}", ours_get, bare_get))
    print(f"(mean POST {statistics.mean(ours_post):.0f} ms vs bare {statistics.mean(bare_post):.0f} ms)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--clients", type=int, default=50)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.requests, arguments.clients))
