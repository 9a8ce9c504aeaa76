"""The worker's activities, run the way Temporal runs them (ActivityEnvironment), on the real database."""

from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.events import EventActivities, EventToRecord
from common.settings import Settings
from tests.support import Org
from worker import ACTIVITY_THREADS, build_worker


def test_record_event_is_safe_to_retry(
    session_factory: sessionmaker[Session], api_url: str, org: Org
) -> None:
    activity = EventActivities(session_factory).record_event
    event = EventToRecord(
        event_id="ev_retrytest0000001",
        organization_id=org.id,
        environment="sandbox",
        type="policy.active",
        data={"id": "pl_x", "object": "policy"},
    )
    env = ActivityEnvironment()
    assert env.run(activity, event) == env.run(activity, event) == "ev_retrytest0000001"
    listed = httpx.get(f"{api_url}/api/v1/events", auth=(org.sandbox_key, "")).json()
    assert [(e["id"], e["type"], e["data"]) for e in listed] == [
        ("ev_retrytest0000001", "policy.active", {"id": "pl_x", "object": "policy"})
    ]
    assert httpx.get(f"{api_url}/api/v1/events", auth=(org.production_key, "")).json() == []


async def test_worker_starts_against_the_dev_server(
    temporal_env: WorkflowEnvironment, settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    client = await Client.connect(temporal_env.client.service_client.config.target_host)
    with ThreadPoolExecutor(max_workers=ACTIVITY_THREADS) as executor:
        async with build_worker(client, settings, session_factory, executor) as worker:
            assert worker.task_queue == "gigcover"
