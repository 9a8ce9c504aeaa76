"""Benchmark: end-to-end card-paid assignments against a bare baseline on the same Temporal dev server.

    .venv/bin/python -m bench.assignment_throughput --count 40

Card-paid assignment: API POST /assignments -> workflow -> bind (certificate) -> reminder email -> charge in
localstripe (notice window 0) -> assignment.active -> webhook delivered to a receiver. Baseline, in the same
run: a workflow with the same number of no-op activities and a zero-length timer. Prints assignments per
second, the baseline's workflows per second, their ratio, and the history size of one assignment.
"""

import argparse
import asyncio
import time

import httpx
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.worker import Worker

from bench.baseline import BaselineWorkflow, noop
from bench.stack import running_stack
from tests.support import WebhookReceiver, assignment_request, insured_contractors, serve


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


async def main(count: int) -> None:
    receiver = WebhookReceiver()
    async with running_stack(notice_seconds=0) as stack:
        with serve(receiver.app) as hook_url:
            async with httpx.AsyncClient(
                base_url=f"{stack.api_url}/api/v1", auth=(stack.org.sandbox_key, ""), timeout=60
            ) as http:
                await http.post(
                    "/webhook_endpoints", json={"url": f"{hook_url}/hooks", "events": ["assignment.active"]}
                )
                print(f"insuring {count} contractors through the application flow...", flush=True)
                jobs = await insured_contractors(
                    http, stack.factory, stack.settings, stack.org, stack.stripe_url, count
                )
                print(f"measuring {count} assignments...", flush=True)
                started = time.perf_counter()
                created = await asyncio.gather(
                    *(http.post("/assignments", json=assignment_request(*one)) for one in jobs)
                )
                while len(receiver.requests) < count:
                    await asyncio.sleep(0.02)
                assignment_rate = count / (time.perf_counter() - started)
                one = created[0].json()["id"]
                history = await stack.client.get_workflow_handle(f"assignment-{one}").fetch_history()
                activities = sum(
                    e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED for e in history.events
                )
        baseline_rate = await baseline(stack.client, count, activities)
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
