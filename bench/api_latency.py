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

from bench.stack import add_settings_option, chosen_settings, running_stack
from devstack.run import Stack as Processes
from devstack.run import one_per_core, wait_for_http
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
def bare_api(database_url: str, organization_id: str, settings: dict[str, str]) -> Iterator[str]:
    """The bare app served and awaited as `make run` serves the API: as many processes (one per core, or
    ``GIGCOVER_DEV_API_PROCESSES``), with the same settings."""
    processes = settings.get("GIGCOVER_DEV_API_PROCESSES", str(one_per_core()))
    port, logs = free_port(), Path(tempfile.mkdtemp(prefix="bare-api-"))
    env = {**os.environ, **settings, "BARE_DATABASE_URL": database_url}
    env["BARE_ORGANIZATION_ID"] = organization_id
    server = Processes()
    server.start(
        "bare-api",
        [
            *(sys.executable, "-m", "api.serve", "--app", "bench.bare_api:app_from_environment"),
            *("--host", "127.0.0.1", "--port", str(port), "--processes", processes),
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


def row(name: str, rounds: list[tuple[list[float], list[float]]]) -> str:
    """Each round's p50 and p99, ours and bare, and the median of the rounds' ratios (one run of this
    machine swings by half from round to round; the two sides of a round ran moments apart)."""

    def figures(share: float) -> tuple[str, str, float]:
        ours = [percentile(o, share) for o, _ in rounds]
        bare = [percentile(b, share) for _, b in rounds]
        ratio = statistics.median(o / b for o, b in zip(ours, bare, strict=True))
        return ", ".join(f"{v:.0f}" for v in ours), ", ".join(f"{v:.0f}" for v in bare), ratio

    o50, b50, r50 = figures(0.5)
    o99, b99, r99 = figures(0.99)
    return f"| {name} | {o50} / {o99} ms | {b50} / {b99} ms | **{r50:.1f}** | **{r99:.1f}** |"


async def main(requests: int, clients: int, rounds: int, settings: dict[str, str]) -> None:
    async with running_stack(notice_seconds=3600, **settings) as stack:
        key = stack.org.sandbox_key
        async with httpx.AsyncClient(base_url=f"{stack.api_url}/api/v1", auth=(key, ""), timeout=60) as http:
            insured = await insured_contractors(
                http, stack.factory, stack.settings, stack.org, stack.stripe_url, 10
            )
        posts: list[tuple[list[float], list[float]]] = []
        gets: list[tuple[list[float], list[float]]] = []
        with bare_api(stack.settings.resolved_database_url, stack.org.id, settings) as bare_url:
            # later rounds find the workers busy with the earlier rounds' assignments, on both sides
            for _ in range(rounds):
                bodies = [assignment_request(*insured[n % len(insured)]) for n in range(requests)]
                bare_post = await asyncio.to_thread(load, f"{bare_url}/assignments", key, clients, bodies)
                ours_post = await asyncio.to_thread(
                    load, f"{stack.api_url}/api/v1/assignments", key, clients, bodies
                )
                posts.append((ours_post, bare_post))
                async with httpx.AsyncClient(auth=(key, ""), timeout=60) as http:
                    page = (
                        await http.get(f"{stack.api_url}/api/v1/assignments", params={"limit": 100})
                    ).json()
                ids = ([a["id"] for a in page] * (requests // max(len(page), 1) + 1))[:requests]
                bare_get = await asyncio.to_thread(
                    load, bare_url + "/assignments/{}", key, clients, None, ids
                )
                ours_get = await asyncio.to_thread(
                    load, stack.api_url + "/api/v1/assignments/{}", key, clients, None, ids
                )
                gets.append((ours_get, bare_get))
    shape = ", ".join(f"{name}={value}" for name, value in settings.items()) or "make run's settings"
    print(f"{requests} requests a round, {rounds} rounds, {clients} concurrent clients ({shape})")
    print("| request | gigcover p50 / p99 (each round) | bare p50 / p99 | ratio p50 | ratio p99 |")
    print("|---|---|---|---|---|")
    print(row("POST /assignments", posts))
    print(row("GET /assignments/{id}", gets))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    add_settings_option(parser, "the stack's and the bare app's")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.requests, arguments.clients, arguments.rounds, chosen_settings(arguments)))
