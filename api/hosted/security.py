"""What every hosted page (the application, the update-card page) carries: a Content-Security-Policy that
lets scripts come only from us (each inline script with this response's nonce) and Stripe.js, no framing,
no Referer (the link is the contractor's access and must not leak to success_url or anyone else), no MIME
sniffing, HSTS over https; and page messages signed by us, so a crafted link cannot put words in them."""

import hashlib
import hmac
import secrets
from contextvars import ContextVar
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from common.settings import Settings, server_secret

HOSTED_PREFIXES = ("/apply/", "/cards/")
_MESSAGES: ContextVar["PageMessages"] = ContextVar("page_messages")
STRIPE_JS, STRIPE_API = "https://js.stripe.com", "https://api.stripe.com"


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
        scope.setdefault("state", {})["csp_nonce"] = nonce
        _MESSAGES.set(self.messages)  # the route runs in a copy of this context
        headers = [
            (b"content-security-policy", content_security_policy(self.settings, nonce).encode()),
            (b"referrer-policy", b"no-referrer"),
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
        ]
        if self.https:
            headers.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *headers]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def page_messages() -> "PageMessages":
    """The signer of the hosted page being served."""
    return _MESSAGES.get()


class PageMessages:
    """Messages a page shows come back through the URL only with our signature: ``?error=…&sig=…``."""

    def __init__(self, settings: Settings) -> None:
        self._key = hashlib.sha256(b"page-messages:" + server_secret(settings)).digest()

    def sign(self, page: str, message: str) -> str:
        return hmac.new(self._key, f"{page}\n{message}".encode(), hashlib.sha256).hexdigest()[:32]

    def shown(self, page: str, message: str | None, signature: str | None) -> str | None:
        """The message when we wrote it for this page; None for anything else in the URL."""
        if not message or not signature:
            return None
        return message if hmac.compare_digest(self.sign(page, message), signature) else None
