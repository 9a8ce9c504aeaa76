"""1099Policy's event types that gigcover never sends are refused at subscription, with the reason."""

import httpx
import pytest

from domain.events import NOT_SENT
from tests.support import Org


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
