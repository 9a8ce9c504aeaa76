"""What every hosted page (the application, the update-card page) carries: a Content-Security-Policy that
lets scripts come only from us (each inline script with this response's nonce) and Stripe.js, no framing,
no Referer (the link is the contractor's access and must not leak to success_url or anyone else), no MIME
sniffing, HSTS over https; page messages signed by us, so a crafted link cannot put words in them; and a
CSRF token in every form, bound to the page and to a SameSite cookie of the contractor's browser, so a
form posted from another site (which the browser sends without that cookie) changes nothing."""

import hashlib
import hmac
import re
import secrets
from contextvars import ContextVar
from urllib.parse import parse_qs, quote, urlsplit

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.asgi import read_cookie, replaying
from api.errors import refusal
from common.constant_time import equal
from common.settings import Settings, server_secret

HOSTED_PREFIXES = ("/apply/", "/cards/", "/certificates/", "/my/")
FORM_COOKIE = "gigcover_form"
FORGED = "This page was open too long or was sent from somewhere else: please try again."
_MESSAGES: ContextVar["PageMessages"] = ContextVar("page_messages")
STRIPE_JS, STRIPE_API = "https://js.stripe.com", "https://api.stripe.com"
# What a link's page segment can be (our tokens are URL-safe base64): anything else is no link of ours,
# and never reaches a cookie's Path, a Location header or a database lookup.
PAGE = re.compile(r"[A-Za-z0-9_-]{1,200}")
NO_SUCH_LINK = "This link does not work. Check that you opened the whole link from your email."


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(settings: Settings, nonce: str) -> str:
    stripe = _origin(settings.stripe_api_base) if settings.stripe_api_base else STRIPE_JS
    api = _origin(settings.stripe_api_base) if settings.stripe_api_base else STRIPE_API
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}' {stripe}",
            f"frame-src {stripe} https://hooks.stripe.com",
            f"connect-src 'self' {api}",
            "img-src 'self' data:",
            "style-src 'self' 'unsafe-inline'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "object-src 'none'",
        ]
    )


class HostedPageHeaders:
    """ASGI middleware: a fresh nonce per hosted page (``request.state.csp_nonce``) and the headers above."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app, self.settings = app, settings
        self.https = settings.public_base_url.startswith("https://")
        self.messages = PageMessages(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(HOSTED_PREFIXES):
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(16)
        prefix, page = scope["path"].split("/")[1:3]
        cookie = read_cookie(scope, FORM_COOKIE)
        state = scope.setdefault("state", {})
        _MESSAGES.set(self.messages)  # the route runs in a copy of this context
        headers = [
            (b"content-security-policy", content_security_policy(self.settings, nonce).encode()),
            (b"referrer-policy", b"no-referrer"),
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
        ]
        if self.https:
            headers.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
        if not PAGE.fullmatch(page):
            response = await refusal(Request(scope, receive), 404, "resource_not_found", NO_SUCH_LINK)
            response.raw_headers.extend(headers)
            await response(scope, receive, send)
            return
        if scope["method"] == "POST":
            body = await _body(receive)
            sent = _csrf_token(body, dict(scope["headers"]).get(b"content-type", b""))
            if not cookie or not equal(self.messages.form_token(page, cookie), sent):
                location = f"/{prefix}/{page}?error={quote(FORGED)}&sig={self.messages.sign(page, FORGED)}"
                await send(
                    {
                        "type": "http.response.start",
                        "status": 303,
                        "headers": [
                            (b"location", location.encode()),
                            (b"cache-control", b"no-store"),
                            *headers,
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": b""})
                return
            receive = replaying(body, receive)
        if cookie is None:
            cookie = secrets.token_urlsafe(24)
            secure = "; Secure" if self.https else ""
            value = f"{FORM_COOKIE}={cookie}; Path=/{prefix}/{page}; HttpOnly; SameSite=Lax{secure}"
            headers.append((b"set-cookie", value.encode()))
        state["csp_nonce"], state["csrf_token"] = nonce, self.messages.form_token(page, cookie)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *headers]
            await send(message)

        await self.app(scope, receive, send_with_headers)


# The token as a multipart form (a file upload page) sends it: a part of its own, before the file.
_MULTIPART_TOKEN = re.compile(rb'name="csrf_token"\r\n\r\n([A-Za-z0-9_-]{1,64})\r\n')


def _csrf_token(body: bytes, content_type: bytes) -> str:
    if content_type.lower().startswith(b"multipart/form-data"):
        found = _MULTIPART_TOKEN.search(body)
        return found.group(1).decode() if found else ""
    return parse_qs(body.decode("latin-1")).get("csrf_token", [""])[0]


async def _body(receive: Receive) -> bytes:
    body, more = b"", True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    return body


def page_messages() -> "PageMessages":
    """The signer of the hosted page being served."""
    return _MESSAGES.get()


class PageMessages:
    """Messages a page shows come back through the URL only with our signature: ``?error=…&sig=…``."""

    def __init__(self, settings: Settings) -> None:
        self._key = hashlib.sha256(b"page-messages:" + server_secret(settings)).digest()

    def sign(self, page: str, message: str) -> str:
        return hmac.new(self._key, f"{page}\n{message}".encode(), hashlib.sha256).hexdigest()[:32]

    def form_token(self, page: str, cookie: str) -> str:
        return hmac.new(self._key, f"form\n{page}\n{cookie}".encode(), hashlib.sha256).hexdigest()[:32]

    def shown(self, page: str, message: str | None, signature: str | None) -> str | None:
        """The message when we wrote it for this page; None for anything else in the URL."""
        if not message or not signature:
            return None
        return message if equal(self.sign(page, message), signature) else None
