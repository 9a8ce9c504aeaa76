"""One trace runs from the API request through the workflow it starts to that workflow's activities
(FastAPI's instrumentation and temporalio's TracingInterceptor), seen by an in-memory exporter in a process
of its own (tests/trace_probe.py)."""

import json
import subprocess
import sys
from collections import defaultdict

from tests.support import ROOT


def test_one_trace_from_the_api_through_the_workflow_to_its_activities(
    temporal_address: str, database_url: str, localstripe: str
) -> None:
    probe = subprocess.run(
        [sys.executable, "-m", "tests.trace_probe", temporal_address, database_url, localstripe],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert probe.returncode == 0, probe.stderr[-3000:]
    spans = [json.loads(line) for line in probe.stdout.splitlines() if line.startswith("{")]
    by_trace: dict[str, list[str]] = defaultdict(list)
    for span in spans:
        by_trace[span["trace_id"]].append(span["name"])
    created = next(names for names in by_trace.values() if "POST /api/v1/apply/sessions" in names)
    names = [name for name in created if " http " not in name]
    for step in (
        "StartWorkflow:ApplicationWorkflow",
        "RunWorkflow:ApplicationWorkflow",
        "StartActivity:",
        "RunActivity:",
    ):
        assert any(name.startswith(step) for name in names), (step, names)
