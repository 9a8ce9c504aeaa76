"""Attacks from the second security review (issue 21, "run the review again"): each was a 500, a stuck
email, an hours-long wait or a card link that still replaced the card, and each is now a clear answer."""

import http.server
import threading
import time
from collections.abc import Iterator
from ipaddress import ip_address

import httpx
import pytest

from db.models import Assignment
from domain.outbound import address_refusal
from domain.statuses import AssignmentStatus
from integrations.creatoriq.client import CreatorIQClient, CreatorIQUnavailable
from integrations.creatoriq.signature import InvalidSignature, verify
from notifications.catalog import AssignmentChargeReminder, EmailKind
from notifications.render import render_email
from services import cards
from tests.support import Org
from tests.test_application_flow import csrf_token
from tests.test_hosted_security import _application

pytestmark = pytest.mark.usefixtures("worker")


def test_a_token_signature_or_form_token_with_non_ascii_characters_is_a_clear_refusal(
    api_url: str, org: Org
) -> None:
    link = _application(api_url, org)
    with httpx.Client(base_url=api_url, timeout=30) as browser:
        shown = browser.get(link, params={"error": "x", "sig": "é"})  # compare_digest raised on text
        assert shown.status_code in (200, 404) and "error_code" not in shown.text
        assert browser.get("/cards/unknown-token", params={"error": "x", "sig": "é"}).status_code == 404
        csrf_token(browser, link)  # the page's cookie
        forged = browser.post(f"{link}/verify_info", data={"csrf_token": "é"})
        assert forged.status_code == 303  # back to the page with "sent from somewhere else"
        sign_in = browser.post("/dashboard/sign-in", data={"csrf_token": "é", "email": "a@b.c"})
        assert sign_in.status_code == 403 and sign_in.headers["content-type"].startswith("text/html")


def test_hosted_card_and_signature_values_out_of_range_are_page_messages(api_url: str, org: Org) -> None:
    link = _application(api_url, org)
    with httpx.Client(base_url=api_url, timeout=30) as browser:
        token = csrf_token(browser, link)
        for value in ("ab", "p" * 101):
            sent = browser.post(
                f"{link}/add_card_details", data={"csrf_token": token, "payment_method_id": value}
            )
            assert sent.status_code == 303, sent.text[:300]
        spaced = browser.post(
            f"{link}/esignature_document",
            data={"csrf_token": token, "typed_name": "Jane" + " " * 300 + "Doe", "consent": "yes"},
        )
        assert spaced.status_code == 303, spaced.text[:300]


def test_a_line_break_in_a_job_or_name_keeps_the_subject_on_one_line() -> None:
    rendered = render_email(
        EmailKind.ASSIGNMENT_CHARGE_REMINDER,
        AssignmentChargeReminder(
            organization_name="Acme",
            contractor_name="Jane\r\nBcc: attacker@example.com",
            job_name="Evil\r\nBcc: attacker@example.com",
            amount=1500,
            charge_at=1_800_000_000,
            payment_method="Visa ending 4242",
            portal_url="https://example.com/my",
        ),
    )
    assert "\n" not in rendered.subject and "\r" not in rendered.subject


class _SlowDown(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(429)
        self.send_header("Retry-After", "100000")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def asks_to_wait_a_day() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _SlowDown)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def test_creatoriq_asking_to_wait_hours_ends_the_call_as_unavailable(asks_to_wait_a_day: str) -> None:
    started = time.monotonic()
    with CreatorIQClient("key", asks_to_wait_a_day, 5) as client, pytest.raises(CreatorIQUnavailable):
        client.publisher(1)
    assert time.monotonic() - started < 5  # it used to sleep the Retry-After: 28 hours


def test_a_creatoriq_timestamp_that_is_not_a_number_is_never_recent() -> None:
    with pytest.raises(InvalidSignature):
        verify({}, {"x-timestamp": "nan", "x-signature": "0" * 32}, "key", time.time())


@pytest.mark.parametrize("address", ["fec0::1", "3fff::1", "5f00::1"])
def test_deprecated_and_special_ipv6_ranges_are_no_webhook_target(address: str) -> None:
    assert address_refusal(ip_address(address), private_allowed=False) is not None
    assert address_refusal(ip_address(address), private_allowed=True) is not None


@pytest.mark.parametrize(
    "status, charged, expected",
    [
        (AssignmentStatus.PENDING, 0, True),  # in its notice window
        (AssignmentStatus.CHARGE_FAILED, 0, True),
        (AssignmentStatus.ACTIVE, 4800, True),  # a declined increase: 8640 owed, 4800 collected
        (AssignmentStatus.ACTIVE, 8640, False),  # paid in full
        (AssignmentStatus.CANCELLED, 0, False),
        (AssignmentStatus.EXPIRED, 8640, False),
    ],
)
def test_a_card_link_opens_only_while_something_is_owed(status: str, charged: int, expected: bool) -> None:
    """A card saved through an old reminder after the assignment was paid or cancelled replaced the
    contractor's card for their other assignments; the link now says there is nothing to pay (410)."""
    row = Assignment(
        premium=8640, charged=charged, status=status, cancelled=status == AssignmentStatus.CANCELLED
    )
    assert cards.card_still_needed(row) is expected
