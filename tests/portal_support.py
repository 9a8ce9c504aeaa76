"""What a contractor does in their portal (/my), for tests of flows that end there: ask for a sign-in link,
open it from the email, and replace the card (Stripe.js would make the PaymentMethod)."""

import re
import time
from contextlib import closing
from typing import Any

import httpx

from tests.support import SmtpSink

LINK = re.compile(r"https?://\S+?(/my/link/[A-Za-z0-9_-]+)")


def form_token(client: httpx.Client, path: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert found, path
    return found.group(1)


def _sign_in_emails(sink: SmtpSink, to: str) -> list[Any]:
    return [m for m in sink.messages if m["X-Gigcover-Kind"] == "portal_sign_in" and m["To"] == to]  # type: ignore[index]


def portal_client(
    base_url: str, sink: SmtpSink, email: str, headers: dict[str, str] | None = None
) -> httpx.Client:
    """A browser signed in to the portal as ``email``, through the link emailed to it."""
    client = httpx.Client(base_url=base_url, headers=headers or {}, timeout=60)
    before = len(_sign_in_emails(sink, email))
    asked = client.post("/my/sign-in", data={"email": email, "csrf_token": form_token(client, "/my/sign-in")})
    assert asked.status_code == 200 and "Check your email" in asked.text, asked.text
    deadline = time.monotonic() + 30
    while len(_sign_in_emails(sink, email)) <= before:
        assert time.monotonic() < deadline, f"no sign-in link for {email}"
        time.sleep(0.1)
    text = _sign_in_emails(sink, email)[-1].get_body(("plain",)).get_content()
    found = LINK.search(text)
    assert found, text
    path = found.group(1)
    used = client.post(path, data={"csrf_token": form_token(client, path)})
    assert used.status_code == 303 and used.headers["location"] == "/my/home", used.text
    return client


def replace_card_in_portal(
    base_url: str,
    sink: SmtpSink,
    email: str,
    contractor_id: str,
    payment_method_id: str,
    owed: str | None = None,
) -> None:
    """Sign in and replace the card of the contractor record; with ``owed``, the page must say that much
    waits for the new card."""
    with closing(portal_client(base_url, sink, email)) as browser:
        path = f"/my/card/{contractor_id}"
        page = browser.get(path)
        assert page.status_code == 200 and "Replace your card" in page.text, page.text
        if owed is not None:
            assert f"A payment of <strong>{owed}</strong> is waiting" in page.text, page.text
        sent = browser.post(
            path, data={"csrf_token": form_token(browser, path), "payment_method_id": payment_method_id}
        )
        assert sent.status_code == 303 and sent.headers["location"].endswith("?saved=true"), sent.headers
