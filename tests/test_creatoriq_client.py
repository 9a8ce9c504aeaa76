"""The CreatorIQ client against the fake CreatorIQ over real HTTP: the 5 requests/s limit per key, retries
of transient errors, final errors, paging, and the webhook signature both ways."""

import secrets
import threading
import time

import pytest

from integrations.creatoriq.client import CreatorIQClient, CreatorIQKeyRefused, CreatorIQNotFound
from integrations.creatoriq.signature import InvalidSignature, sign, verify
from tests.fake_creatoriq import FakeCreatorIQ


def _account(creatoriq: FakeCreatorIQ, campaigns: int = 1):  # type: ignore[no-untyped-def]
    account = creatoriq.account(f"ciq_{secrets.token_hex(16)}")
    for n in range(campaigns):
        account.add_campaign(100 + n, f"Campaign {n}", start="2030-01-01", end="2030-02-01")
    return account


def test_requests_from_many_threads_stay_within_five_per_second(creatoriq: FakeCreatorIQ) -> None:
    account = _account(creatoriq)
    started = time.monotonic()

    def read() -> None:
        with CreatorIQClient(account.api_key, creatoriq.url) as client:
            for _ in range(4):
                client.campaign(100)

    threads = [threading.Thread(target=read) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert account.requests == 16 and account.too_fast == 0  # CreatorIQ never had to say 429
    assert time.monotonic() - started >= 3.0  # 16 requests at 5/s need at least three more seconds


def test_transient_errors_are_retried_and_final_ones_are_not(creatoriq: FakeCreatorIQ) -> None:
    account = _account(creatoriq)
    account.fail_next = 2
    with CreatorIQClient(account.api_key, creatoriq.url) as client:
        assert client.campaign(100)["CampaignName"] == "Campaign 0"
        assert account.requests == 3
        with pytest.raises(CreatorIQNotFound):
            client.publisher(424242)
        assert account.requests == 4
    with CreatorIQClient("ciq_unknown_key", creatoriq.url) as client, pytest.raises(CreatorIQKeyRefused):
        client.campaign(100)


def test_campaigns_are_read_page_by_page(creatoriq: FakeCreatorIQ) -> None:
    account = _account(creatoriq, campaigns=120)
    with CreatorIQClient(account.api_key, creatoriq.url) as client:
        assert [c["Id"] for c in client.campaigns()] == list(range(100, 220))
    assert account.requests == 3  # 50 + 50 + 20


def test_the_webhook_signature_checks_payload_timestamp_and_key() -> None:
    payload = {"PublisherId": 5, "ChangedData": {"Email": "é@example.com"}}
    now = time.time()
    headers = sign(payload, str(int(now)), "key-1")
    verify(dict(reversed(list(payload.items()))), headers, "key-1", now)  # key order does not matter
    in_milliseconds = str(int(now) * 1000)
    verify(payload, sign(payload, in_milliseconds, "key-1"), "key-1", now)
    for bad_payload, bad_headers, key, reason in (
        ({**payload, "PublisherId": 6}, headers, "key-1", "X-Signature does not match"),
        (payload, headers, "key-2", "X-Signature does not match"),
        (payload, {**headers, "X-Signature-SHA256": "0" * 64}, "key-1", "SHA256 does not match"),
        (payload, {"x-timestamp": headers["x-timestamp"]}, "key-1", "missing"),
        (payload, sign(payload, str(int(now) - 3600), "key-1"), "key-1", "too far"),
    ):
        with pytest.raises(InvalidSignature, match=reason):
            verify(bad_payload, bad_headers, key, now)
