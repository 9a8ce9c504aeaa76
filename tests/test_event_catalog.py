"""The event types a platform can subscribe to are the ones gigcover sends: each is emitted by some flow, and
1099Policy's types that gigcover never sends are refused at subscription with the reason."""

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from common.settings import Settings
from domain.events import EVENT_TYPES, NOT_SENT
from services.organization import create_organization
from tests.support import ISSUED_KEYS, Org, WebhookReceiver

ROOT = Path(__file__).resolve().parent.parent
EMITTERS = ("activities", "services", "workflows", "outbox", "api")


def _string_literals() -> set[str]:
    found: set[str] = set()
    for folder in EMITTERS:
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    found.add(node.value)
    return found


def test_every_type_a_platform_can_subscribe_to_is_emitted_by_some_flow() -> None:
    assert sorted(EVENT_TYPES - _string_literals()) == []
    assert not EVENT_TYPES & set(NOT_SENT)


@pytest.mark.parametrize("event_type", sorted(NOT_SENT))
def test_types_gigcover_never_sends_are_refused_with_the_reason(
    api_url: str, org: Org, event_type: str
) -> None:
    with httpx.Client(base_url=f"{api_url}/api/v1", auth=(org.sandbox_key, ""), timeout=30) as http:
        refused = http.post(
            "/webhook_endpoints",
            json={"url": "https://platform.example/hooks", "events": ["policy.active", event_type]},
        )
        assert (refused.status_code, refused.json()["error_code"]) == (400, "invalid_input")
        message = refused.json()["message"]
        assert message.startswith(f"events: {event_type} is not sent by gigcover: ")
        assert ("certificate" in message) if event_type.startswith("certificate.") else ("media" in message)
        assert http.get("/webhook_endpoints").json() == []

        endpoint = http.post(
            "/webhook_endpoints", json={"url": "https://platform.example/hooks", "events": ["policy.active"]}
        ).json()
        changed = http.put(f"/webhook_endpoints/{endpoint['id']}", json={"events": [event_type]})
        assert (changed.status_code, changed.json()["error_code"]) == (400, "invalid_input")
        assert f"{event_type} is not sent by gigcover" in changed.json()["message"]
        assert http.get(f"/webhook_endpoints/{endpoint['id']}").json()["events"] == ["policy.active"]


def test_unknown_types_are_named(api_url: str, org: Org) -> None:
    refused = httpx.post(
        f"{api_url}/api/v1/webhook_endpoints",
        auth=(org.sandbox_key, ""),
        json={"url": "https://platform.example/hooks", "events": ["policy.exploded", "policy.active"]},
    )
    assert refused.status_code == 400
    assert refused.json()["message"] == "events: unknown event types: policy.exploded"


def _approve(settings: Settings, *arguments: str) -> str:
    env = {
        **os.environ,
        "GIGCOVER_DATABASE_URL": settings.resolved_database_url,
        "GIGCOVER_TEMPORAL_ADDRESS": settings.temporal_address,
        "GIGCOVER_TASK_QUEUE": settings.task_queue,
    }
    done = subprocess.run(
        [sys.executable, "manage.py", "approve", *arguments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


@pytest.mark.usefixtures("worker")
def test_approving_a_category_tells_both_environments_once(
    api_url: str,
    settings: Settings,
    session_factory: sessionmaker[Session],
    receiver: tuple[WebhookReceiver, str],
) -> None:
    hook, url = receiver
    with session_factory() as session:
        made = create_organization(session, "Category Platform", approve_categories=["influencer"])
        organization = made.organization.id
    ISSUED_KEYS.extend([made.sandbox_key, made.production_key])
    sandbox = httpx.Client(base_url=f"{api_url}/api/v1", auth=(made.sandbox_key, ""), timeout=30)
    production = httpx.Client(base_url=f"{api_url}/api/v1", auth=(made.production_key, ""), timeout=30)
    with sandbox, production:
        sandbox.post("/webhook_endpoints", json={"url": url, "events": ["category_code.added"]})
        assert "photographer" not in {c["code"] for c in sandbox.get("/category_codes").json()}

        assert _approve(settings, organization, "photographer", "influencer").startswith("approved: ")
        [(_, body)] = hook.wait_for(1)
        event = json.loads(body)
        photographer = next(c for c in sandbox.get("/category_codes").json() if c["code"] == "photographer")
        assert (event["type"], event["data"]) == ("category_code.added", photographer)
        live = production.get("/events", params={"type": "category_code.added"}).json()
        assert [e["data"] for e in live] == [photographer]  # influencer was approved already: no event

        _approve(settings, organization, "photographer")  # again: nothing new
        assert len(sandbox.get("/events", params={"type": "category_code.added"}).json()) == 1
        assert len(hook.requests) == 1
