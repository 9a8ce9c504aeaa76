"""Webhook targets (SSRF): production endpoints are https on public addresses, refused at registration
otherwise; the same check runs again at every delivery on the address actually connected to, so a name whose
DNS answer changes after registration (rebinding) reaches nothing; sandbox may use loopback and private
addresses only when the deployment allows it, and never metadata or link-local ones."""

import re
import socket
from ipaddress import ip_address
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
    # IPv6 forms that carry an IPv4 address inside: the address inside is what is reached
    "https://[64:ff9b::a9fe:a9fe]/hooks": "NAT64 form of 169.254.169.254, a cloud metadata",
    "https://[64:ff9b::a00:1]/hooks": "NAT64 form of 10.0.0.1, a private",
    "https://[64:ff9b::7f00:1]/hooks": "NAT64 form of 127.0.0.1, a loopback",
    "https://[64:ff9b:1::a9fe:a9fe]/hooks": "a local-use NAT64 address",
    "https://[64:ff9b:1:a9fe:a9:fe00::]/hooks": "a local-use NAT64 address",
    "https://[2002:a9fe:a9fe::1]/hooks": "6to4 form of 169.254.169.254, a cloud metadata",
    "https://[2002:c0a8:1::1]/hooks": "6to4 form of 192.168.0.1, a private",
    "https://[::a9fe:a9fe]/hooks": "IPv4-compatible form of 169.254.169.254, a cloud metadata",
    "https://[::a00:1]/hooks": "IPv4-compatible form of 10.0.0.1, a private",
    "https://[::ffff:0:a9fe:a9fe]/hooks": "IPv4-translated form of 169.254.169.254, a cloud metadata",
    "https://[::ffff:0:7f00:1]/hooks": "IPv4-translated form of 127.0.0.1, a loopback",
    "https://[2001:0:4136:e378:8000:63bf:5601:5656]/hooks": "Teredo form of 169.254.169.169, a link-local",
    "https://192.0.0.8/hooks": "reserved",  # IETF protocol assignments
    "https://[::ffff:192.0.0.8]/hooks": "IPv4-mapped form of 192.0.0.8, a reserved",
}
# Refused to sandbox keys too, even where the deployment lets the sandbox reach loopback and private networks
# (as the tests' settings do): what is inside is a metadata or link-local address, or cannot be told.
SANDBOX_FORBIDDEN = {
    url: kind
    for url, kind in FORBIDDEN.items()
    if any(word in kind for word in ("metadata", "link-local", "local-use", "reserved"))
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


@pytest.mark.parametrize(("url", "kind"), SANDBOX_FORBIDDEN.items(), ids=list(SANDBOX_FORBIDDEN))
def test_sandbox_refuses_metadata_and_link_local_addresses_in_any_form(
    api_url: str, org: Org, url: str, kind: str
) -> None:
    answer = _register(api_url, org.sandbox_key, url.replace("https:", "http:"))
    assert answer.status_code == 400, answer.text
    assert answer.json()["error_code"] == "invalid_input" and kind in answer.json()["message"]
    assert httpx.get(f"{api_url}/api/v1/webhook_endpoints", auth=(org.sandbox_key, "")).json() == []


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


REBOUND = {
    "production-loopback": ("production", "127.0.0.1", "resolves to 127.0.0.1, a loopback address"),
    "production-nat64-private": (
        "production",
        "64:ff9b::a00:1",
        "resolves to 64:ff9b::a00:1, a NAT64 form of 10.0.0.1, a private address",
    ),
    "sandbox-nat64-metadata": (
        "sandbox",
        "64:ff9b::a9fe:a9fe",
        "resolves to 64:ff9b::a9fe:a9fe, a NAT64 form of 169.254.169.254, a cloud metadata address",
    ),
    "sandbox-6to4-metadata": (
        "sandbox",
        "2002:a9fe:a9fe::1",
        "resolves to 2002:a9fe:a9fe::1, a 6to4 form of 169.254.169.254, a cloud metadata address",
    ),
}


@pytest.mark.parametrize(("environment", "address", "error"), REBOUND.values(), ids=list(REBOUND))
def test_a_name_rebound_after_registration_is_not_delivered_to(
    api_url: str, org: Org, monkeypatch: pytest.MonkeyPatch, environment: str, address: str, error: str
) -> None:
    key = org.production_key if environment == "production" else org.sandbox_key
    host = f"rebind-{environment}.platform.example"
    endpoint = _register(api_url, key, f"https://{host}/hooks")
    assert endpoint.status_code == 201  # the name does not resolve yet: it reaches nothing
    real = socket.getaddrinfo

    def rebound(name: str, *args: Any, **kwargs: Any) -> Any:
        return real(address if name == host else name, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebound)  # now it answers that, as an attacker's DNS would
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
    assert error in attempts[0]["error"]


def test_every_delivery_checks_each_dns_answer_for_an_address_inside(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the worker runs before each attempt: a name whose answers include any IPv6 form of a forbidden
    IPv4 address is not called, in either environment."""
    real = socket.getaddrinfo
    answers = {"public": ["2001:4860:4860::8888"]}

    def resolve(name: str, *args: Any, **kwargs: Any) -> Any:
        return [info for a in answers[name.split(".")[0]] for info in real(a, *args, **kwargs)]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    assert (
        pin("https://public.platform.example/h", "production", False).url
        == "https://[2001:4860:4860::8888]/h"
    )
    for url, kind in FORBIDDEN.items():
        host = url.split("//")[1].split("/")[0].strip("[]")
        if host == "localhost":
            continue
        answers["evil"] = ["2001:4860:4860::8888", host]  # one good answer does not cover a bad one
        with pytest.raises(TargetRefused) as refused:
            pin("https://evil.platform.example/h", "production", sandbox_private_targets=False)
        assert kind in str(refused.value) and f"resolves to {ip_address(host)}" in str(refused.value)
        if url in SANDBOX_FORBIDDEN:
            with pytest.raises(TargetRefused, match=re.escape(kind)):
                pin("http://evil.platform.example/h", "sandbox", sandbox_private_targets=True)
