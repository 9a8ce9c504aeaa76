"""The API's access log, as ``python -m api.serve`` writes it (make run keeps it in .data/logs/, the image
writes it to stdout), names each request by its route's template: an application, card, document, reset or
invitation link's token is never written, in either log format."""

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from common.settings import Settings
from tests.support import ROOT, Org, contractor_fields, entity_fields, free_port, job_fields, process_env

pytestmark = pytest.mark.usefixtures("worker")
# A capability path with anything but a template after its prefix.
LINK = re.compile(
    r"/(?:apply|cards|certificates|files|my/link|dashboard/reset|dashboard/invitation)/(?!\{|finished\b|…)[^\s\"?]+"
)


@contextmanager
def served_api(settings: Settings, temporal_address: str, log: Path, **extra: str) -> Iterator[str]:
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "api.serve", "--port", str(port)],
            cwd=ROOT,
            env=process_env(settings, temporal_address, **extra),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                assert process.poll() is None, log.read_text()
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


def _application_link(api_url: str, org: Org) -> str:
    with httpx.Client(base_url=f"{api_url}/api/v1", auth=(org.sandbox_key, ""), timeout=30) as http:
        entity = http.post("/entities", json=entity_fields()).json()["id"]
        contractor = http.post("/contractors", json=contractor_fields()).json()["id"]
        job = http.post("/jobs", json=job_fields(entity)).json()["id"]
        quote = http.post(
            "/quotes", json={"contractor": contractor, "job": job, "coverage_type": ["general"]}
        )
        urls = {"success_url": "https://x.example/ok", "cancel_url": "https://x.example/no"}
        application = http.post("/apply/sessions", json={"quote": quote.json()["id"], **urls}).json()
    return application["url"].removeprefix(api_url)


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_the_access_log_holds_route_templates_not_tokens(
    api_url: str, org: Org, settings: Settings, temporal_address: str, tmp_path: Path, log_format: str
) -> None:
    link = _application_link(api_url, org)
    token = link.removeprefix("/apply/")
    others = [
        "/cards/Qk3xYv9QpLm2RtKw8ZaB7cD1eF2gH3iJ4kL5mN6oP7q?saved=1&sig=5b1c0de",
        "/files/Q2x8Lr5Tn7Vw9Yb4Kd6Hg3Jm1Pc0Zs8A/certificate.pdf",
        "/dashboard/reset/reset-token-Jq4Wz8Xc2Vb6Nm0Lk3Hg",
        "/dashboard/invitation/invite-token-Pt7Rs5Qa1Zx9Cv3Bn",
        "/certificates/Ue2Rk7Yh4Wq9Lp3Zx6Cv1Bn8Mt5Gs0Ad",
        "/my/link/Hx4Kq8Vn2Rb6Tz0Pw3Ly7Jm5Cd9Fs1Ge",
    ]
    log = tmp_path / "api.log"
    with served_api(settings, temporal_address, log, GIGCOVER_LOG_FORMAT=log_format) as url:
        deadline = time.monotonic() + 15  # the page needs the application's workflow started
        while httpx.get(f"{url}{link}", timeout=30).status_code != 200:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        step = httpx.post(f"{url}{link}/verify_info", data={"first_name": "Jane"}, timeout=30)
        assert step.status_code in (303, 400, 403)  # no CSRF token: nothing changes, either way
        for path in others:
            httpx.get(f"{url}{path}", timeout=30)
        httpx.get(f"{url}/apply/{token}/no/such/page", timeout=30)  # a path no route takes
        # a sign-in link posted from a browser without the form's cookie: refused before any route runs
        refused = httpx.post(f"{url}/my/link/Sg5Dt1Qw8Er3Ty6Ui0Op2As7Df4Gh9Jk", data={}, timeout=30)
        assert refused.status_code == 303
        httpx.get(f"{url}/certificates/Cz3Xv7Bn1Mq5Wl9Ek2Rj6Th0Yu4Ip8Os/no/such/page", timeout=30)
    written = log.read_text(errors="replace")
    if log_format == "json":
        lines = [json.loads(line) for line in written.splitlines() if line.startswith("{")]
        written = "\n".join(line["message"] for line in lines if line["logger"].endswith(".access"))
    assert token not in written
    assert '"GET /apply/{token} HTTP/1.1" 200' in written, written
    assert '"POST /apply/{token}/verify_info HTTP/1.1" 303' in written  # refused before routing, even
    assert '"GET /cards/{token} HTTP/1.1"' in written
    assert '"GET /files/{token}/{filename} HTTP/1.1" 404' in written
    assert '"GET /dashboard/reset/{token} HTTP/1.1"' in written
    assert '"GET /dashboard/invitation/{token} HTTP/1.1"' in written
    assert '"GET /apply/{token}/no/such/page HTTP/1.1" 404' in written
    assert '"POST /my/link/{token} HTTP/1.1" 303' in written
    assert '"GET /certificates/{token}/no/such/page HTTP/1.1" 404' in written
    for secret in ("Sg5Dt1Qw8Er3Ty6Ui0Op2As7Df4Gh9Jk", "Cz3Xv7Bn1Mq5Wl9Ek2Rj6Th0Yu4Ip8Os"):
        assert secret not in written, f"{secret} was logged"
    assert token not in written
    for path in others:
        secret = path.split("/")[-1 if "files" not in path else -2].split("?")[0]
        assert secret not in written, f"{secret} was logged"
    assert "sig=" not in written
    assert not LINK.findall(written), LINK.findall(written)
