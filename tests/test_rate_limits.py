"""Rate limits the API processes enforce together: requests per API key (429 ``rate_limit`` with
``Retry-After``, counted across two real API processes on one database), and links to hosted pages that do
not exist, per client address."""

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
import ten99policy
from sqlalchemy.orm import Session, sessionmaker

from api.main import create_app
from api.throttle import SharedCounter
from common.settings import Settings
from tests.support import (
    ROOT,
    Org,
    contractor_fields,
    entity_fields,
    free_port,
    job_fields,
    make_org,
    process_env,
    serve,
)

HOUR = 3600


def _inside_one_window(window: int, needed: float) -> None:
    """Fixed windows: wait for the next one when this one ends before the test would."""
    left = window - time.time() % window
    if left < needed:
        time.sleep(left + 0.5)


@contextmanager
def api_process(settings: Settings, temporal_address: str, **extra: str) -> Iterator[str]:
    """The API as deployments run it (``python -m api.serve``), in its own process, on the tests' database."""
    port = free_port()
    env = process_env(settings, temporal_address, **extra)
    process = subprocess.Popen(
        [sys.executable, "-m", "api.serve", "--port", str(port), "--log-level", "warning"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, (
                f"the API did not start: {process.stderr.read() if process.stderr else ''}"
            )
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the API did not start in time"
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_the_limit_per_key_holds_across_two_api_processes(
    settings: Settings, temporal_address: str, session_factory: sessionmaker[Session]
) -> None:
    org = make_org(session_factory, "Busy Platform")
    limits = {"GIGCOVER_RATE_LIMIT_REQUESTS": "6", "GIGCOVER_RATE_LIMIT_WINDOW_SECONDS": str(HOUR)}
    with (
        api_process(settings, temporal_address, **limits) as first,
        api_process(settings, temporal_address, **limits) as second,
    ):
        _inside_one_window(HOUR, 60)
        answers = [
            httpx.get(f"{url}/api/v1/entities", auth=(org.sandbox_key, ""), timeout=30)
            for url in (first, second) * 4
        ]
        assert [a.status_code for a in answers] == [200] * 6 + [429] * 2  # 3 + 3 allowed, in all
        refused = answers[6]
        assert refused.json() == {
            "message": f"Too many requests with this API key: at most 6 per {HOUR} s. "
            f"Retry after {refused.headers['retry-after']} s.",
            "error_code": "rate_limit",
        }
        assert 0 < int(refused.headers["retry-after"]) <= HOUR
        assert refused.headers.get("request-id", "").startswith("req_")

        # Another key has its own count; a write refused changes nothing.
        other = httpx.get(f"{second}/api/v1/entities", auth=(org.production_key, ""), timeout=30)
        assert other.status_code == 200
        write = httpx.post(
            f"{first}/api/v1/contractors", json=contractor_fields(), auth=(org.sandbox_key, ""), timeout=30
        )
        assert write.status_code == 429
        listed = httpx.get(f"{second}/api/v1/contractors", auth=(org.production_key, ""), timeout=30)
        assert listed.status_code == 200 and listed.json() == []

        saved = ten99policy.api_base, ten99policy.api_key, ten99policy.log
        ten99policy.api_base, ten99policy.api_key, ten99policy.log = second, org.sandbox_key, None
        try:
            with pytest.raises(ten99policy.error.RateLimitError):
                ten99policy.Entities.list()
        finally:
            ten99policy.api_base, ten99policy.api_key, ten99policy.log = saved


def test_the_counter_is_shared_by_separate_limiters(session_factory: sessionmaker[Session]) -> None:
    """Two limiters (as in two processes) on one database admit exactly the limit between them."""
    one, two = SharedCounter(5, 60), SharedCounter(5, 60)
    at = 1_800_000_000 // 60 * 60 + 1  # just after a window starts
    with session_factory() as session:
        results = [(one, two)[i % 2].hit(session, "test:shared", at + i * 0.1) for i in range(8)]
        assert results[:5] == [None] * 5 and all(r == 59 for r in results[5:])
        assert one.full(session, "test:shared", at + 2) == 57  # known full: no query, no write
        assert SharedCounter(5, 60).full(session, "test:shared", at + 2) == 57  # a third reads it
        assert one.hit(session, "test:shared", at + 60) is None  # the next window starts afresh
        assert SharedCounter(0, 60).hit(session, "test:shared", at) is None  # 0: no limit


@pytest.mark.usefixtures("worker")
def test_unknown_links_are_throttled_per_address(api_url: str, org: Org, settings: Settings) -> None:
    with httpx.Client(base_url=f"{api_url}/api/v1", auth=(org.sandbox_key, ""), timeout=30) as http:
        entity = http.post("/entities", json=entity_fields()).json()["id"]
        contractor = http.post("/contractors", json=contractor_fields()).json()["id"]
        job = http.post("/jobs", json=job_fields(entity)).json()["id"]
        coverage = {"contractor": contractor, "job": job, "coverage_type": ["general"]}
        quote = http.post("/quotes", json=coverage).json()
        urls = {"success_url": "https://x.example/ok", "cancel_url": "https://x.example/no"}
        application = http.post("/apply/sessions", json={"quote": quote["id"], **urls}).json()
    link = application["url"].removeprefix(api_url)
    guesser, contractor_address = "198.51.100.23", "203.0.113.40"  # told by a trusted proxy
    # The API behind a proxy on loopback (GIGCOVER_TRUSTED_PROXIES), which names each client.
    proxied = settings.model_copy(update={"trusted_proxies": "127.0.0.1"})
    with serve(create_app(proxied), settings=proxied) as behind_proxy:
        _throttled_per_address(behind_proxy, link, guesser, contractor_address)


def _throttled_per_address(url: str, link: str, guesser: str, contractor_address: str) -> None:
    def get(path: str, address: str) -> httpx.Response:
        return httpx.get(f"{url}{path}", headers={"X-Forwarded-For": address}, timeout=30)

    deadline = time.monotonic() + 15  # the page needs the application's workflow started
    while get(link, contractor_address).status_code != 200:
        assert time.monotonic() < deadline
        time.sleep(0.2)

    _inside_one_window(600, 60)
    guesses = [get(f"/apply/guessed-link-{n}", guesser).status_code for n in range(20)]
    assert guesses == [404] * 20  # the limit: 20 unknown links per address per 10 minutes
    refused = get("/apply/guessed-link-20", guesser)
    assert refused.status_code == 429 and "Too many attempts" in refused.text
    assert 0 < int(refused.headers["retry-after"]) <= 600
    assert refused.headers["content-security-policy"]  # still a hosted page, with its headers
    # Past the limit, that address gets nothing, not even a real link (which would tell it exists)...
    assert get(link, guesser).status_code == 429
    assert get("/cards/an_guessed", guesser).status_code == 429
    # ...while a contractor elsewhere opens theirs as usual.
    assert get(link, contractor_address).status_code == 200
