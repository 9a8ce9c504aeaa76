"""Webhook targets (SSRF): production endpoints are https on public addresses, refused at registration
otherwise; the same check runs again at every delivery on the address actually connected to, so a name whose
DNS answer changes after registration (rebinding) reaches nothing; sandbox may use loopback and private
addresses only when the deployment allows it, and never metadata or link-local ones."""

import socket
from typing import Any

import httpx
import pytest

from domain.errors import DomainError
from integrations.outbound import TargetRefused, check_target, pin
from tests.support import Org, contractor_fields, entity_fields, eventually, job_fields, unique_email

pytestmark = pytest.mark.usefixtures("worker")

FORBIDDEN = {
    "https://127.0.0.1/hooks": "loopback",
    "https://[::1]/hooks": "loopback",
    "https://localhost/hooks": "loopback",  # a name that resolves to loopback
    "https://10.1.2.3/hooks": "private",
    "https://192.168.0.10/hooks": "private",
    "https://172.16.5.4/hooks": "private",
    "https://[fd12::1]/hooks": "private",
    "https://169.254.169.254/latest/meta-data": "metadata",
    "https://[fe80::1]/hooks": "link-local",
    "https://100.64.0.7/hooks": "carrier-grade NAT",
    "https://224.0.0.251/hooks": "multicast",
    "https://0.0.0.0/hooks": "unspecified",
    "https://[::ffff:127.0.0.1]/hooks": "loopback",
}


def _register(api_url: str, key: str, url: str) -> httpx.Response:
    return httpx.post(f"{api_url}/api/v1/webhook_endpoints", json={"url": url}, auth=(key, ""), timeout=30)


@pytest.mark.parametrize(("url", "kind"), FORBIDDEN.items(), ids=list(FORBIDDEN))
def test_production_refuses_every_forbidden_address_class(
    api_url: str, org: Org, url: str, kind: str
) -> None:
    answer = _register(api_url, org.production_key, url)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error_code"] == "invalid_input" and kind in answer.json()["message"]
    assert httpx.get(f"{api_url}/api/v1/webhook_endpoints", auth=(org.production_key, "")).json() == []


def test_production_needs_https_and_sandbox_may_use_loopback_when_allowed(
    api_url: str, org: Org, receiver: tuple[Any, str]
) -> None:
    plain = _register(api_url, org.production_key, "http://hooks.platform.example/gigcover")
    assert plain.status_code == 400 and "https" in plain.json()["message"]
    assert (
        _register(api_url, org.production_key, "https://hooks.platform.example/gigcover").status_code == 201
    )
    _hook, local = receiver
    assert _register(api_url, org.sandbox_key, local).status_code == 201  # the tests' setting allows it
    metadata = _register(api_url, org.sandbox_key, "http://169.254.169.254/latest")
    assert metadata.status_code == 400 and "metadata" in metadata.json()["message"]


def test_the_sandbox_setting_is_what_lets_loopback_through() -> None:
    with pytest.raises(DomainError) as refused:
        check_target("http://127.0.0.1:9000/hooks", "sandbox", sandbox_private_targets=False)
    assert refused.value.field == "url" and "loopback" in refused.value.message
    check_target("http://127.0.0.1:9000/hooks", "sandbox", sandbox_private_targets=True)
    pinned = pin("http://localhost:9000/hooks?x=1", "sandbox", sandbox_private_targets=True)
    assert pinned.url in ("http://127.0.0.1:9000/hooks?x=1", "http://[::1]:9000/hooks?x=1")
    assert pinned.headers == {"Host": "localhost:9000"}
    with pytest.raises(TargetRefused):
        pin("http://127.0.0.1:9000/hooks", "production", sandbox_private_targets=True)


def test_a_name_rebound_to_loopback_after_registration_is_not_delivered_to(
    api_url: str, org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = org.production_key
    endpoint = _register(api_url, key, "https://rebind.platform.example/hooks")
    assert endpoint.status_code == 201  # the name does not resolve yet: it reaches nothing
    real = socket.getaddrinfo

    def rebound(host: str, *args: Any, **kwargs: Any) -> Any:
        return real("127.0.0.1" if host == "rebind.platform.example" else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebound)  # now it answers loopback, as an attacker's DNS would
    with httpx.Client(base_url=f"{api_url}/api/v1", auth=(key, ""), timeout=30) as http:
        entity = http.post("/entities", json=entity_fields()).json()["id"]
        contractor = http.post("/contractors", json=contractor_fields(unique_email())).json()["id"]
        job = http.post("/jobs", json=job_fields(entity)).json()["id"]
        quote = http.post(
            "/quotes", json={"contractor": contractor, "job": job, "coverage_type": ["general"]}
        )
        http.post("/policies", json={"quote": quote.json()["id"]})  # policy.active, for the endpoint
        deliveries = eventually(
            lambda: http.get(f"/webhook_endpoints/{endpoint.json()['id']}/deliveries").json(), timeout=30
        )
        attempts = eventually(
            lambda: http.get(f"/webhook_deliveries/{deliveries[0]['id']}").json()["attempts"]
        )
    assert attempts[0]["status_code"] is None
    assert "resolves to 127.0.0.1, a loopback address" in attempts[0]["error"]
