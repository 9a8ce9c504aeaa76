"""What ops see: /healthz and /readyz, the API's /metrics (requests by route and status, and the business
numbers), a worker's Temporal SDK metrics in Prometheus format, and JSON log lines with ids and no secret."""

import asyncio
import json
import logging
import re
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from api.main import create_app
from common.logs import JsonFormatter, configure_logging, new_log_context
from common.settings import Settings
from tests.support import Org, contractor_fields, free_port, serve, unique_email
from worker import build_worker, worker_runtime

pytestmark = pytest.mark.usefixtures("worker")


def _series(text: str, name: str, **labels: str) -> float:
    """The value of one series of a Prometheus text exposition (0 when absent)."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
        if all(found.get(key) == value for key, value in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_ready_and_alive(api_url: str) -> None:
    assert httpx.get(f"{api_url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{api_url}/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "database": "ok", "temporal": "ok"}


def test_not_ready_when_temporal_does_not_answer(settings: Settings) -> None:
    unreachable = settings.model_copy(update={"temporal_address": f"127.0.0.1:{free_port()}"})
    app = create_app(unreachable)
    with pytest.raises(RuntimeError), serve(app, settings=unreachable):  # no API without Temporal at all
        pass


def test_the_api_counts_requests_by_route_and_status_and_shows_the_business_numbers(
    api_url: str, org: Org
) -> None:
    auth = (org.sandbox_key, "")
    before = httpx.get(f"{api_url}/metrics").text
    for _ in range(3):
        created = httpx.post(
            f"{api_url}/api/v1/contractors", json=contractor_fields(unique_email()), auth=auth
        )
        assert created.status_code == 201
    refused = httpx.post(f"{api_url}/api/v1/contractors", json={"first_name": "x"}, auth=auth)
    assert refused.status_code == 400
    httpx.get(f"{api_url}/api/v1/contractors/cn_doesnotexist", auth=auth)
    after = httpx.get(f"{api_url}/metrics")
    assert after.status_code == 200 and after.headers["content-type"].startswith("text/plain")
    text = after.text

    def grown(**labels: str) -> float:
        name = "gigcover_api_requests_total"
        return _series(text, name, **labels) - _series(before, name, **labels)

    assert grown(route="/api/v1/contractors", method="POST", status="201") == 3
    assert grown(route="/api/v1/contractors", method="POST", status="400") == 1
    assert grown(route="/api/v1/contractors/{contractor_id}", method="GET", status="404") == 1
    assert "cn_doesnotexist" not in text  # ids never become labels
    assert (
        _series(text, "gigcover_api_request_seconds_count", route="/api/v1/contractors", method="POST") >= 3
    )
    for name in (
        "gigcover_assignments_in_notice_window",
        "gigcover_assignment_charges_failed",
        "gigcover_webhook_deliveries_failed",
        "gigcover_emails_failed",
        "gigcover_bills_overdue",
        "gigcover_creatoriq_sync_failures",
    ):
        assert f"# TYPE {name} gauge" in text, name


def test_metrics_need_the_token_when_one_is_set(settings: Settings) -> None:
    guarded = settings.model_copy(update={"metrics_token": "scrape-me-please"})
    with serve(create_app(guarded), settings=guarded) as url:
        assert httpx.get(f"{url}/metrics").status_code == 403
        wrong = httpx.get(f"{url}/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 403
        right = httpx.get(f"{url}/metrics", headers={"Authorization": "Bearer scrape-me-please"})
        assert right.status_code == 200 and "gigcover_api_requests" in right.text


def test_a_worker_serves_the_temporal_sdk_metrics(
    temporal_address: str, settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    address = f"127.0.0.1:{free_port()}"
    tuned = settings.model_copy(update={"worker_metrics_address": address})

    async def scrape_while_running() -> str:
        runtime = worker_runtime(tuned)
        assert runtime is not None
        client = await Client.connect(
            temporal_address, data_converter=pydantic_data_converter, runtime=runtime
        )
        with ThreadPoolExecutor(max_workers=4) as executor:
            async with build_worker(client, tuned, session_factory, executor):
                await asyncio.sleep(2)  # a few polls
                async with httpx.AsyncClient() as http:
                    return (await http.get(f"http://{address}/metrics")).text

    text = asyncio.run(scrape_while_running())
    assert "temporal_worker_task_slots_available" in text or "temporal_request" in text, text[:500]


def test_json_log_lines_carry_the_ids_and_no_secret(capsys: pytest.CaptureFixture[str]) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    log = logging.getLogger("gigcover.test_json")
    log.addHandler(handler)
    log.propagate = False
    try:
        new_log_context(request_id="req_123", organization_id="org_abc", environment="sandbox")
        log.warning("key t9k_test_AbCdEf1234567890 and secret whsec_ZZZZ999 and sk_test_123abc")
    finally:
        log.removeHandler(handler)
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["request_id"] == "req_123" and line["organization_id"] == "org_abc"
    assert line["environment"] == "sandbox" and line["level"] == "WARNING"
    assert (
        "AbCdEf" not in line["message"]
        and "ZZZZ999" not in line["message"]
        and "123abc" not in line["message"]
    )
    assert "t9k_test_…" in line["message"]


def test_configure_logging_switches_the_root_format() -> None:
    root = logging.getLogger()
    saved = [(h, h.formatter) for h in root.handlers]
    try:
        configure_logging(log_format="json")
        assert all(isinstance(h.formatter, JsonFormatter) for h in root.handlers)
    finally:
        for handler, formatter in saved:
            handler.setFormatter(formatter)
