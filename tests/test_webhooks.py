"""Events reach a real receiver, signed, through the real worker on the Temporal dev server."""

import asyncio
import json

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import ActivityEnvironment

from activities.events import EventActivities, EventToRecord
from common.settings import Settings
from common.webhook_signature import verify_signature
from contracts.delivery import OUTBOX_SWEEP_WORKFLOW, SweepRequest, SweepResult
from outbox.dispatch import Dispatcher
from outbox.records import record_event
from tests.histories import keep_history
from tests.support import Org, WebhookReceiver, contractor_fields, entity_fields, eventually, job_fields

pytestmark = pytest.mark.usefixtures("worker")


def _api(api_url: str, org: Org) -> httpx.Client:
    return httpx.Client(base_url=f"{api_url}/api/v1", auth=(org.sandbox_key, ""), timeout=30)


def _bind_policy(http: httpx.Client) -> dict[str, object]:
    entity = http.post("/entities", json=entity_fields()).json()["id"]
    contractor = http.post("/contractors", json=contractor_fields()).json()["id"]
    job = http.post("/jobs", json=job_fields(entity)).json()["id"]
    quote = http.post(
        "/quotes", json={"contractor": contractor, "job": job, "coverage_type": ["general"]}
    ).json()
    policy = http.post("/policies", json={"quote": quote["id"]})
    assert policy.status_code == 201, policy.text
    return dict(policy.json())


def test_events_reach_the_receiver_signed(
    api_url: str, org: Org, receiver: tuple[WebhookReceiver, str]
) -> None:
    hook, url = receiver
    with _api(api_url, org) as http:
        endpoint = http.post("/webhook_endpoints", json={"url": url, "events": ["policy.active"]}).json()
        policy = _bind_policy(http)
        [(headers, body)] = hook.wait_for(1)

        assert verify_signature(body, headers["ten99policy-signature"], endpoint["secret"])
        event = json.loads(body)
        assert headers["ten99policy-event-id"] == event["id"]
        assert event == http.get(f"/events/{event['id']}").json()
        assert (event["type"], event["data"]["id"], event["data"]["status"]) == (
            "policy.active",
            policy["id"],
            "active",
        )

        # Not subscribed to policy.cancelled: cancelling creates an event but no delivery.
        http.put(f"/policies/{policy['id']}", json={"is_active": False})
        assert http.get("/events", params={"type": "policy.cancelled"}).json()
        deliveries = http.get(f"/webhook_endpoints/{endpoint['id']}/deliveries").json()
        assert [(d["event"], d["status"]) for d in deliveries] == [(event["id"], "delivered")]
        detail = http.get(f"/webhook_deliveries/{deliveries[0]['id']}").json()
        assert [(a["attempt"], a["status_code"], a["error"]) for a in detail["attempts"]] == [(1, 200, None)]
        assert detail["attempts"][0]["latency_ms"] >= 0
        assert len(hook.requests) == 1


def test_disabled_endpoints_get_nothing_and_deliveries_can_be_resent(
    api_url: str, org: Org, receiver: tuple[WebhookReceiver, str]
) -> None:
    hook, url = receiver
    with _api(api_url, org) as http:
        endpoint = http.post("/webhook_endpoints", json={"url": url}).json()
        disabled = http.put(f"/webhook_endpoints/{endpoint['id']}", json={"disabled": True}).json()
        assert disabled["status"] == "disabled"
        _bind_policy(http)
        assert http.get(f"/webhook_endpoints/{endpoint['id']}/deliveries").json() == []

        http.put(f"/webhook_endpoints/{endpoint['id']}", json={"status": "enabled"})
        policy = http.get("/policies").json()[0]
        http.put(f"/policies/{policy['id']}", json={"is_active": False})
        [(first_headers, _)] = hook.wait_for(1)
        [delivery] = http.get(f"/webhook_endpoints/{endpoint['id']}/deliveries").json()
        eventually(lambda: http.get(f"/webhook_deliveries/{delivery['id']}").json()["status"] == "delivered")

        resent = http.post(f"/webhook_deliveries/{delivery['id']}/resend")
        assert resent.status_code == 201 and resent.json()["resend_of"] == delivery["id"]
        _, (second_headers, _) = hook.wait_for(2)
        assert second_headers["ten99policy-event-id"] == first_headers["ten99policy-event-id"]
        assert second_headers["ten99policy-delivery-id"] == resent.json()["id"]


async def test_the_sweep_delivers_what_a_crash_left_undispatched(
    temporal_address: str,
    settings: Settings,
    session_factory: sessionmaker[Session],
    api_url: str,
    org: Org,
    receiver: tuple[WebhookReceiver, str],
) -> None:
    hook, url = receiver
    async with httpx.AsyncClient(base_url=f"{api_url}/api/v1", auth=(org.sandbox_key, "")) as http:
        await http.post("/webhook_endpoints", json={"url": url})
    # An API process that committed an event and died before starting its delivery workflow:
    with session_factory() as session:
        stored = record_event(
            session, org.id, "sandbox", "category_code.added", {"id": "jc_x", "object": "job_category"}
        )
        session.commit()
        event_id = stored.id
    await asyncio.sleep(0.5)
    assert hook.requests == []

    client = await Client.connect(temporal_address, data_converter=pydantic_data_converter)
    handle = await client.start_workflow(
        OUTBOX_SWEEP_WORKFLOW,
        SweepRequest(older_than_seconds=0),
        id=f"outbox-sweep-test-{event_id}",
        task_queue=settings.task_queue,
        result_type=SweepResult,
    )
    assert (await handle.result()).dispatched >= 1
    await keep_history(handle, "outbox_sweep")
    await asyncio.to_thread(hook.wait_for, 1)
    assert hook.requests[0][0]["ten99policy-event-id"] == event_id


async def test_record_event_activity_is_safe_to_retry(
    temporal_address: str,
    settings: Settings,
    session_factory: sessionmaker[Session],
    api_url: str,
    org: Org,
    receiver: tuple[WebhookReceiver, str],
) -> None:
    hook, url = receiver
    async with httpx.AsyncClient(base_url=f"{api_url}/api/v1", auth=(org.sandbox_key, "")) as http:
        await http.post("/webhook_endpoints", json={"url": url})
        client = await Client.connect(temporal_address, data_converter=pydantic_data_converter)
        dispatcher = Dispatcher(client, settings, session_factory, asyncio.get_running_loop())
        activity = EventActivities(session_factory, dispatcher).record_event
        event = EventToRecord(
            event_id="ev_retrytest0000001",
            organization_id=org.id,
            environment="sandbox",
            type="policy.active",
            data={"id": "pl_x", "object": "policy"},
        )
        for _ in range(2):  # a retried activity
            assert (
                await asyncio.to_thread(ActivityEnvironment().run, activity, event) == "ev_retrytest0000001"
            )
        await asyncio.to_thread(hook.wait_for, 1)
        await asyncio.sleep(1)
        assert len(hook.requests) == 1
        listed = (await http.get("/events")).json()
        assert [(e["id"], e["type"]) for e in listed] == [("ev_retrytest0000001", "policy.active")]
        assert (await http.get("/events", auth=(org.production_key, ""))).json() == []
