"""The accessibility check itself (tests/accessibility.py), and axe-core run on every dashboard and hosted
page: no serious or critical violation anywhere."""

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import Browser

from tests.accessibility import assert_accessible

STRICT_CSP = "default-src 'none'; script-src 'nonce-abc'; style-src 'nonce-abc'; base-uri 'none'"
INACCESSIBLE = """<!doctype html><html><head><title>Bad</title><style nonce="abc">.faint{color:#ccc}</style>
</head><body><p class="faint">Grey on white</p><img src="data:,"><form><input name="q"></form>
<button></button></body></html>"""
ACCESSIBLE = """<!doctype html><html lang="en"><head><title>Good</title></head><body><main><h1>Fine</h1>
<form><label for="q">Search</label><input id="q" name="q"><button>Go</button></form></main></body></html>"""


@pytest.fixture(scope="module")
def strict_pages() -> Iterator[str]:
    """Two pages served with a nonce-only CSP, like ours: one with serious violations, one without."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = (INACCESSIBLE if self.path == "/bad" else ACCESSIBLE).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Security-Policy", STRICT_CSP)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_check_fails_listing_each_serious_violation_under_a_strict_csp(
    browser: Browser, strict_pages: str
) -> None:
    page = browser.new_page()
    page.goto(f"{strict_pages}/bad")
    with pytest.raises(AssertionError) as failure:
        assert_accessible(page)
    report = str(failure.value)
    for rule in ("color-contrast", "image-alt", "label", "button-name", "html-has-lang"):
        assert f"] {rule}: " in report, report
    assert "5 serious or critical" in report and "contrast of 1.6" in report, report
    page.close()


def test_the_check_passes_a_page_without_serious_violations(browser: Browser, strict_pages: str) -> None:
    page = browser.new_page()
    page.goto(f"{strict_pages}/good")
    assert_accessible(page)
    page.close()
