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
    lines = [json.loads(line) for line in probe.stdout.splitlines() if line.startswith("{")]
    link = next(line["link"] for line in lines if "link" in line)
    spans = [line for line in lines if "link" not in line]
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

    # The application link's token is the contractor's access: no span names it, in any attribute.
    token = link.rsplit("/", 1)[1]
    page = next(span for span in spans if span["name"] == "GET /apply/{token}")
    assert page["attributes"]["http.target"] == "/apply/{token}", page
    assert not [span for span in spans if token in json.dumps(span)]
