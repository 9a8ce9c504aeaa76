"""Benchmark: many card-paid assignments waiting in their notice window at once, then all charged.

    .venv/bin/python -m bench.waiting_assignments --count 10000 --window 1500

Runs `make run`'s stack with the notice window set to ``--window`` seconds (24 hours in production; the
timer is the same), creates ``--count`` assignments through the API (``--clients`` concurrent clients in a
second process, spread over ``--contractors`` insured contractors), and samples every piece's resident
memory while they are bound and reminded, while all of them wait, and while they are charged. The window
must outlast the creation, or the first charges start before the last assignment waits (the run says so).
At the end every assignment must be active with exactly one successful PaymentIntent in localstripe.
"""

import argparse
import asyncio
import time
from collections import Counter

import httpx
from sqlalchemy import func, select

from bench.api_latency import load, percentile
from bench.stack import Stack, running_stack
from db.models import Assignment
from domain.statuses import AssignmentStatus
from tests.support import assignment_request, insured_contractors, raw_stripe


class Memory:
    """Peaks of each process's resident memory, in MiB, per phase."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.peaks: dict[str, dict[str, float]] = {}

    def sample(self, phase: str) -> dict[str, float]:
        now = self.stack.memory_mib()
        peaks = self.peaks.setdefault(phase, {})
        for name, mib in now.items():
            peaks[name] = max(peaks.get(name, 0.0), mib)
        return now


async def count_in_stage(stack: Stack, stage: str) -> int:
    return (await stack.client.count_workflows(f'PaymentStage = "{stage}"')).count


def active_assignments(stack: Stack) -> int:
    with stack.factory() as session:
        return session.scalar(select(func.count()).where(Assignment.status == AssignmentStatus.ACTIVE)) or 0


def successful_charges(stripe_url: str) -> Counter[str]:
    """Succeeded PaymentIntents per assignment, read back from localstripe."""
    intents = raw_stripe(stripe_url).v1.payment_intents.list(params={"limit": 100})  # type: ignore[attr-defined]
    return Counter(
        pi.metadata["assignment"]
        for pi in intents.auto_paging_iter()
        if pi.status == "succeeded" and "assignment" in (pi.metadata or {})
    )


async def main(count: int, window: int, contractors: int, clients: int) -> None:
    async with running_stack(notice_seconds=window) as stack:
        memory = Memory(stack)
        memory.sample("idle")
        key = stack.org.sandbox_key
        async with httpx.AsyncClient(base_url=f"{stack.api_url}/api/v1", auth=(key, ""), timeout=60) as http:
            print(f"insuring {contractors} contractors...", flush=True)
            insured = await insured_contractors(
                http, stack.factory, stack.settings, stack.org, stack.stripe_url, contractors
            )
        bodies = [assignment_request(*insured[n % len(insured)]) for n in range(count)]

        print(f"creating {count} assignments ({clients} clients, notice window {window} s)...", flush=True)
        started = time.monotonic()
        posting = asyncio.create_task(
            asyncio.to_thread(load, f"{stack.api_url}/api/v1/assignments", key, clients, bodies)
        )
        created_at: list[float] = []
        posting.add_done_callback(lambda _: created_at.append(time.monotonic() - started))
        most_waiting, all_waiting_at = 0, None
        while all_waiting_at is None:
            await asyncio.sleep(5)
            now = memory.sample("creating")
            waiting = await count_in_stage(stack, "notice")
            most_waiting = max(most_waiting, waiting)
            print(f"  {time.monotonic() - started:6.0f} s  waiting {waiting:6d}  " + _mib(now), flush=True)
            if waiting == count:
                all_waiting_at = time.monotonic() - started
            elif time.monotonic() - started > window and await count_in_stage(stack, "paid"):
                break  # the first windows ended before the last assignment was reminded
        latencies = await posting
        created_in = created_at[0]

        at_rest = memory.sample("waiting")
        print(f"all {count} waiting after {all_waiting_at or 0:.0f} s: " + _mib(at_rest), flush=True)

        charged_from = started + window
        while (active := await asyncio.to_thread(active_assignments, stack)) < count:
            await asyncio.sleep(5)
            now = memory.sample("charging" if time.monotonic() > charged_from else "waiting")
            print(f"  {time.monotonic() - started:6.0f} s  active {active:6d}  " + _mib(now), flush=True)
        charging_took = time.monotonic() - charged_from
        charges = await asyncio.to_thread(successful_charges, stack.stripe_url)

    print()
    print(f"{count} card-paid assignments, {contractors} contractors, notice window {window} s")
    print(
        f"created through the API in {created_in:.0f} s ({count / created_in:.1f}/s; POST p50 "
        f"{percentile(latencies, 0.5):.0f} ms, p99 {percentile(latencies, 0.99):.0f} ms)"
    )
    print(f"most waiting at once: {most_waiting} (all {count}: {'yes' if all_waiting_at else 'NO'})")
    print(f"charged when the window ended: {charging_took:.0f} s ({count / charging_took:.1f}/s)")
    exactly_once = sum(n == 1 for n in charges.values())
    print(f"assignments with exactly one successful charge in localstripe: {exactly_once} of {count}")
    print("| process | idle | creating (peak) | all waiting | waiting (peak) | charging (peak) |")
    print("|---|---|---|---|---|---|")
    for name in sorted(memory.peaks["idle"]):
        cells = [memory.peaks.get(p, {}).get(name, 0.0) for p in ("idle", "creating")]
        cells += [at_rest.get(name, 0.0)]
        cells += [memory.peaks.get(p, {}).get(name, 0.0) for p in ("waiting", "charging")]
        print(f"| {name} | " + " | ".join(f"{c:.0f} MiB" for c in cells) + " |")
    assert exactly_once == count and len(charges) == count, "not every assignment was charged exactly once"


def _mib(sample: dict[str, float]) -> str:
    return "  ".join(f"{name} {mib:.0f} MiB" for name, mib in sorted(sample.items()))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--window", type=int, default=1500, help="the notice window, seconds")
    parser.add_argument("--contractors", type=int, default=50)
    parser.add_argument("--clients", type=int, default=25)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.count, arguments.window, arguments.contractors, arguments.clients))
