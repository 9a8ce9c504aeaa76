"""What every dashboard response carries, and what every dashboard form must carry.

- Headers: a Content-Security-Policy with a fresh nonce (scripts only from us), no framing, no Referer,
  no MIME sniffing, no caching of pages (they show personal and financial data), HSTS over https. One
  route replaces the policy and framing headers with its own: a certificate's PDF, which only the
  certificate's own page (same origin) may frame and which may load nothing.
- CSRF: every form carries ``csrf_token``, an HMAC (server secret) of what this browser holds that nobody
  else can know or choose. Signed in, that is the server-side session's token (from the signed session
  cookie): a token minted in another browser or another session, even sent with a planted cookie, is
  refused. Before signing in (sign-in, password reset, invitation forms) it is a random
  ``gigcover_dash_csrf`` cookie (HttpOnly, SameSite=Lax). A POST without the token, or from another site
  (which the browser sends without the cookies), is refused with a 403 page and changes nothing.
- The session cookie ``gigcover_session`` holds the server-side session's token, signed (itsdangerous)
  so a tampered cookie is refused before any lookup.
"""

import hashlib
import hmac
import secrets

from fastapi import Request
from itsdangerous import BadSignature, Signer
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.asgi import read_cookie
from common.constant_time import equal
from common.settings import Settings, server_secret

PREFIX = "/dashboard"
# Headers a route may set itself, replacing ours: the certificate's PDF (pages/certificates.py) may be framed
# by its own page (same origin) and loads nothing.
NARROWED = {b"content-security-policy", b"x-frame-options"}
CSRF_COOKIE, SESSION_COOKIE = "gigcover_dash_csrf", "gigcover_session"


class DashboardSecrets:
    def __init__(self, settings: Settings) -> None:
        secret = server_secret(settings)
        self._csrf_key = hashlib.sha256(b"dashboard-csrf:" + secret).digest()
        self._signer = Signer(secret, salt="dashboard-session")
        self.https = settings.public_base_url.startswith("https://")

    def csrf_binding(self, session_cookie: str | None, browser_cookie: str) -> str:
        """What this request's CSRF token is bound to: the signed-in session when the signed session
        cookie holds one, else the browser's random cookie (only the forms used before signing in)."""
        token = self.unseal(session_cookie)
        return f"session:{token}" if token else f"browser:{browser_cookie}"

    def csrf_token(self, binding: str) -> str:
        return hmac.new(self._csrf_key, binding.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, binding: str | None, sent: str | None) -> bool:
        return bool(binding and sent) and equal(self.csrf_token(binding or ""), sent or "")

    def seal(self, token: str) -> str:
        return self._signer.sign(token).decode()

    def unseal(self, cookie: str | None) -> str | None:
        if not cookie:
            return None
        try:
            return self._signer.unsign(cookie).decode()
        except BadSignature:
            return None

    def cookie(self, name: str, value: str, max_age: int | None = None) -> str:
        secure = "; Secure" if self.https else ""
        age = f"; Max-Age={max_age}" if max_age is not None else ""
        return f"{name}={value}; Path={PREFIX}; HttpOnly; SameSite=Lax{secure}{age}"


def content_security_policy(nonce: str) -> str:
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            "img-src 'self' data:",
            "style-src 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "object-src 'none'",
        ]
    )


class DashboardHeaders:
    """ASGI middleware for /dashboard: the headers above, the nonce and the CSRF cookie in request state."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app, self.secrets = app, DashboardSecrets(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not (scope["path"] + "/").startswith(PREFIX + "/"):
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(16)
        headers = [
            (b"content-security-policy", content_security_policy(nonce).encode()),
            (b"referrer-policy", b"same-origin"),
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"cache-control", b"no-store"),
        ]
        if self.secrets.https:
            headers.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
        cookie = read_cookie(scope, CSRF_COOKIE)
        if cookie is None:
            cookie = secrets.token_urlsafe(24)
            headers.append((b"set-cookie", self.secrets.cookie(CSRF_COOKIE, cookie).encode()))
        binding = self.secrets.csrf_binding(read_cookie(scope, SESSION_COOKIE), cookie)
        state = scope.setdefault("state", {})
        state["csp_nonce"], state["csrf_binding"] = nonce, binding
        state["csrf_token"] = self.secrets.csrf_token(binding)
        state["dashboard_secrets"] = self.secrets

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k != b"cache-control"]
                own = {k for k, _ in kept} & NARROWED  # a route's own, narrower policy for what it serves
                message["headers"] = [*kept, *((k, v) for k, v in headers if k not in own)]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def secrets_of(request: Request) -> DashboardSecrets:
    return request.state.dashboard_secrets


class ForgedForm(Exception):
    """A POST without the CSRF token of this browser's session."""


async def require_csrf(request: Request) -> None:
    """Router dependency: every POST carries the CSRF token of this browser's session (or, not signed in,
    of this browser), in urlencoded or multipart forms."""
    if request.method != "POST":
        return
    form = await request.form()
    sent = form.get("csrf_token")
    if not secrets_of(request).csrf_ok(request.state.csrf_binding, sent if isinstance(sent, str) else None):
        raise ForgedForm()
