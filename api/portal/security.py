"""What the contractor portal adds to the hosted pages' protections (api/hosted/security.py gives it the
security headers, the CSRF token on every form and signed page messages, as every page under ``/my/``):

- the session cookie ``gigcover_portal``: the session's random token (the server keeps its hash), HttpOnly,
  SameSite=Lax, Secure over https, Path=/my, expiring with the session;
- an even answer time for the sign-in request: its answer is held until ``portal_answer_seconds`` after it
  arrived, whether an email was queued (and its workflow started) or not, so timing tells nothing about
  which addresses are on file;
- the sign-in request's limits, per address asked for and per client, counted in the database with the
  API's shared counters (api/throttle.py), so every API process enforces them together."""

import hashlib
import time

import anyio
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.throttle import SharedCounter
from common.settings import Settings

PREFIX = "/my"
SIGN_IN_PATH = "/my/sign-in"
PORTAL_COOKIE = "gigcover_portal"


def session_cookie(settings: Settings, value: str, max_age: int) -> str:
    secure = "; Secure" if settings.public_base_url.startswith("https://") else ""
    return f"{PORTAL_COOKIE}={value}; Path={PREFIX}; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"


def session_token(request: Request) -> str | None:
    return request.cookies.get(PORTAL_COOKIE) or None


class SignInLimits:
    """Sign-in links asked for, per address (whatever address it is: on file or not) and per client."""

    def __init__(self, settings: Settings) -> None:
        window = settings.portal_limit_window_seconds
        self.per_address = SharedCounter(settings.portal_links_per_address, window)
        self.per_client = SharedCounter(settings.portal_requests_per_client, window)

    @staticmethod
    def address_bucket(address: str) -> str:
        return "portal-address:" + hashlib.sha256(address.encode()).hexdigest()[:40]

    @staticmethod
    def client_bucket(client: str) -> str:
        return f"portal-client:{client}"


def limits_of(request: Request) -> SignInLimits:
    return request.app.state.portal_limits


class EvenAnswerTime:
    """Pure ASGI middleware: a POST to the sign-in page is answered ``seconds`` after it came, not sooner."""

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app, self.seconds = app, seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != SIGN_IN_PATH:
            await self.app(scope, receive, send)
            return
        started = time.monotonic()

        async def held(message: Message) -> None:
            if message["type"] == "http.response.start":
                await anyio.sleep(max(0.0, self.seconds - (time.monotonic() - started)))
            await send(message)

        await self.app(scope, receive, held)
