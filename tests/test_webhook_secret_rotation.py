"""Rolling a webhook endpoint's secret: during the overlap every delivery carries two v1= signatures (the
new secret's and the old one's), so a receiver with either accepts it; after it, only the new secret signs.
Through the real API, the real worker and a real receiver."""

import json

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from common.webhook_signature import SignatureVerificationError, signature_header, verify_signature
from db.models import AuditEntry, WebhookEndpoint
from tests.support import (
    Org,
    WebhookReceiver,
    contractor_fields,
    entity_fields,
    job_fields,
    unique_email,
)

pytestmark = pytest.mark.usefixtures("worker")


def _signatures(header: str) -> list[str]:
    return [item.removeprefix("v1=") for item in header.split(",") if item.startswith("v1=")]


def _next_delivery(http: httpx.Client, hook: WebhookReceiver, count: int) -> tuple[dict[str, str], bytes]:
    """Bind a policy (policy.active) and return the delivery the receiver got for it."""
    entity = http.post("/entities", json=entity_fields()).json()["id"]
    contractor = http.post("/contractors", json=contractor_fields(unique_email())).json()["id"]
    job = http.post("/jobs", json=job_fields(entity)).json()["id"]
    coverage = {"contractor": contractor, "job": job, "coverage_type": ["general"]}
    quote = http.post("/quotes", json=coverage).json()
    assert http.post("/policies", json={"quote": quote["id"]}).status_code == 201
    return hook.wait_for(count)[count - 1]


def test_a_rolled_secret_signs_beside_the_new_one_until_its_overlap_ends(
    api_url: str, org: Org, receiver: tuple[WebhookReceiver, str], session_factory: sessionmaker[Session]
) -> None:
    hook, url = receiver
    with httpx.Client(base_url=f"{api_url}/api/v1", auth=(org.sandbox_key, ""), timeout=30) as http:
        endpoint = http.post("/webhook_endpoints", json={"url": url, "events": ["policy.active"]}).json()
        old = endpoint["secret"]
        headers, body = _next_delivery(http, hook, 1)
        assert len(_signatures(headers["ten99policy-signature"])) == 1

        rolled = http.post(f"/webhook_endpoints/{endpoint['id']}/roll_secret", json={"expires_in_hours": 2})
        assert rolled.status_code == 200, rolled.text
        new = rolled.json()["secret"]
        assert new.startswith("whsec_") and new != old
        assert http.get(f"/webhook_endpoints/{endpoint['id']}").json()["secret"] == new
        overlap_ends = rolled.json()["previous_secret_expires_at"]
        assert abs(overlap_ends - (endpoint["created"] + 2 * 3600)) < 120

        headers, body = _next_delivery(http, hook, 2)
        header = headers["ten99policy-signature"]
        assert len(_signatures(header)) == 2  # t=…,v1=<new>,v1=<old>
        assert verify_signature(body, header, new)
        assert verify_signature(body, header, old)  # a receiver not yet switched still accepts it
        assert json.loads(body)["type"] == "policy.active"

        # Rolling with no overlap: only the newest secret signs, the older ones are refused at once.
        again = http.post(f"/webhook_endpoints/{endpoint['id']}/roll_secret", json={"expires_in_hours": 0})
        newest = again.json()["secret"]
        assert again.json()["previous_secret_expires_at"] is None
        headers, body = _next_delivery(http, hook, 3)
        header = headers["ten99policy-signature"]
        assert len(_signatures(header)) == 1 and verify_signature(body, header, newest)
        for stale in (old, new):
            with pytest.raises(SignatureVerificationError):
                verify_signature(body, header, stale)

    with session_factory() as session:
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.target == endpoint["id"]).order_by(AuditEntry.id)
        ).all()
        assert [(e.action, e.environment) for e in entries] == [
            ("webhook_endpoint.secret_rolled", "sandbox")
        ] * 2
        assert entries[0].actor.startswith("API key t9k_test_")
        assert all(old not in str(e.detail) and new not in str(e.detail) for e in entries)


def test_a_bad_overlap_is_refused_and_changes_nothing(api_url: str, org: Org) -> None:
    with httpx.Client(base_url=f"{api_url}/api/v1", auth=(org.sandbox_key, ""), timeout=30) as http:
        endpoint = http.post("/webhook_endpoints", json={"url": "https://hooks.platform.example/x"}).json()
        for body in ({"expires_in_hours": 169}, {"expires_in_hours": -1}, {"expires_in_hours": "soon"}):
            answer = http.post(f"/webhook_endpoints/{endpoint['id']}/roll_secret", json=body)
            assert answer.status_code == 400, answer.text
            assert (
                answer.json()["error_code"] == "invalid_input"
                and "expires_in_hours" in answer.json()["message"]
            )
        unknown = http.post("/webhook_endpoints/whe_nope/roll_secret", json={})
        assert unknown.status_code == 404
        after = http.get(f"/webhook_endpoints/{endpoint['id']}").json()
        assert after["secret"] == endpoint["secret"] and after["previous_secret_expires_at"] is None


def test_the_old_secret_stops_signing_when_its_overlap_ends(
    api_url: str, org: Org, session_factory: sessionmaker[Session]
) -> None:
    with httpx.Client(base_url=f"{api_url}/api/v1", auth=(org.sandbox_key, ""), timeout=30) as http:
        endpoint = http.post("/webhook_endpoints", json={"url": "https://hooks.platform.example/y"}).json()
        rolled = http.post(f"/webhook_endpoints/{endpoint['id']}/roll_secret").json()  # 24 h by default
    with session_factory() as session:
        row = session.scalar(select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint["id"]))
        assert row is not None and row.previous_secret_expires_at is not None
        ends = row.previous_secret_expires_at
        assert ends - rolled["created"] >= 24 * 3600 - 120
        assert row.signing_secrets(ends - 1) == [rolled["secret"], endpoint["secret"]]
        assert row.signing_secrets(ends) == [rolled["secret"]]


def test_a_header_carries_one_signature_per_secret() -> None:
    header = signature_header(["whsec_new", "whsec_old"], b'{"id": "ev_1"}', timestamp=1_700_000_000)
    assert header.startswith("t=1700000000,v1=") and len(_signatures(header)) == 2
    for secret in ("whsec_new", "whsec_old"):
        verify_signature(b'{"id": "ev_1"}', header, secret, now=1_700_000_000)
    with pytest.raises(SignatureVerificationError):
        verify_signature(b'{"id": "ev_1"}', header, "whsec_other", now=1_700_000_000)
    assert signature_header("whsec_new", b"x", 1) == signature_header(["whsec_new"], b"x", 1)
