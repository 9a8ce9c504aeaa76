"""Benchmark: end-to-end card-paid assignments against a bare baseline on the same Temporal dev server.

    .venv/bin/python -m bench.assignment_throughput --count 200 --rounds 3

Card-paid assignment: API POST /assignments -> workflow -> bind (certificate) -> reminder email -> charge in
localstripe (notice window 0) -> assignment.active -> webhook delivered to a receiver. Baseline, in the same
run: a workflow with the same number of no-op activities and a 1 ms timer, run by a worker in this process.
The machine is noisy, so the two alternate for a few rounds and the median ratio is the result. Prints, per
round, assignments per second, baseline workflows per second, the ratio, and the CPU each process spent per
item; then the history size of one assignment.
"""

import argparse
import asyncio
import statistics
import time
from dataclasses import dataclass
from typing import Any

import httpx
from temporalio.api.enums.v1 import EventType
from temporalio.worker import Worker

from bench.baseline import BaselineWorkflow, LocalBaselineWorkflow, noop
from bench.stack import Stack, add_settings_option, chosen_settings, running_stack
from tests.support import WebhookReceiver, assignment_request, insured_contractors, serve

LOCAL_ACTIVITY_MARKER = "core_local_activity"


@dataclass
class Measured:
    rate: float  # per second
    cpu: dict[str, float]  # CPU seconds per process

    def per_item(self, count: int) -> str:
        ms = {name: 1000 * seconds / count for name, seconds in self.cpu.items()}
        shown = ", ".join(f"{name} {value:.0f}" for name, value in ms.items() if value >= 5)
        return f"{sum(ms.values()):.0f} ms CPU each ({shown})"


class Meter:
    """Rate and CPU of every process of the stack (and of this one, as "bench") over a block of work."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack

    async def __aenter__(self) -> "Meter":
        self.cpu, self.own_cpu = self.stack.cpu_seconds(), time.process_time()
        self.started = time.perf_counter()
        return self

    async def __aexit__(self, *_: object) -> None:
        self.elapsed = time.perf_counter() - self.started
        after = self.stack.cpu_seconds()
        self.used = {name: after[name] - self.cpu.get(name, 0.0) for name in after}
        self.used["bench"] = time.process_time() - self.own_cpu

    def result(self, count: int) -> Measured:
        return Measured(count / self.elapsed, self.used)


async def baseline(stack: Stack, count: int, activities: int, workflow: type) -> Measured:
    client = stack.client
    worker = Worker(client, task_queue="baseline", workflows=[workflow], activities=[noop])
    async with worker, Meter(stack) as meter:
        handles = [
            await client.start_workflow(
                workflow, activities, id=f"baseline-{time.time_ns()}-{i}", task_queue="baseline"
            )
            for i in range(count)
        ]
        await asyncio.gather(*(h.result() for h in handles))
    return meter.result(count)


async def assignments(
    stack: Stack, http: httpx.AsyncClient, receiver: WebhookReceiver, jobs: list[Any]
) -> tuple[Measured, str]:
    delivered = len(receiver.requests)
    async with Meter(stack) as meter:
        created = await asyncio.gather(
            *(http.post("/assignments", json=assignment_request(*one)) for one in jobs)
        )
        while len(receiver.requests) < delivered + len(jobs):
            await asyncio.sleep(0.02)
    assert all(response.status_code == 201 for response in created), created[0].text
    return meter.result(len(jobs)), created[0].json()["id"]


async def steps_and_events(stack: Stack, assignment_id: str) -> tuple[int, int]:
    """Once the assignment waits for its coverage to end (a timer): its steps (activities, local or not) and
    history events so far."""
    handle = stack.client.get_workflow_handle(f"assignment-{assignment_id}")
    while True:
        history = await handle.fetch_history()
        if any(e.event_type == EventType.EVENT_TYPE_TIMER_STARTED for e in history.events):
            break
        await asyncio.sleep(0.1)
    steps = sum(
        e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        or e.marker_recorded_event_attributes.marker_name == LOCAL_ACTIVITY_MARKER
        for e in history.events
    )
    return steps, len(history.events)


async def main(count: int, rounds: int, settings: dict[str, str]) -> None:
    receiver = WebhookReceiver()
    async with running_stack(notice_seconds=0, **settings) as stack:
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
                _, one = await assignments(stack, http, receiver, jobs[:1])  # warm up; counts the steps
                steps, _ = await steps_and_events(stack, one)
                ratios: list[float] = []
                for round_number in range(1, rounds + 1):
                    print(f"round {round_number}: {count} assignments and {count} baselines", flush=True)
                    if round_number % 2:  # alternate which goes first, so drift favours neither
                        base = await baseline(stack, count, steps, BaselineWorkflow)
                        real, one = await assignments(stack, http, receiver, jobs)
                    else:
                        real, one = await assignments(stack, http, receiver, jobs)
                        base = await baseline(stack, count, steps, BaselineWorkflow)
                    local = await baseline(stack, count, steps, LocalBaselineWorkflow)
                    ratios.append(real.rate / base.rate)
                    print(
                        f"  assignments (API POST -> charged -> certificate -> webhook delivered): "
                        f"{real.rate:.1f}/s, {real.per_item(count)}\n"
                        f"  baseline ({steps} no-op activities + a timer):  {base.rate:.1f}/s, "
                        f"{base.per_item(count)}; bench = the baseline's worker\n"
                        f"  baseline with local activities:  {local.rate:.1f}/s, {local.per_item(count)}\n"
                        f"  ratio {ratios[-1]:.2f} (to the local-activity one: {real.rate / local.rate:.2f})",
                        flush=True,
                    )
                _, events = await steps_and_events(stack, one)
    print(f"median ratio over {rounds} rounds: {statistics.median(ratios):.2f}   (target >= 0.7)")
    print(f"one card-paid assignment: {events} history events (target <= 45), {steps} activities")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    add_settings_option(parser, "the stack's")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.count, arguments.rounds, chosen_settings(arguments)))
