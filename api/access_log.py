"""The API's access log, written by the app instead of uvicorn: one line per request with the client, the
method, the route's template and the status — ``"GET /apply/{token} HTTP/1.1" 200`` — never the path itself
nor its query, which carry application, card, certificate upload, document, portal sign-in, reset and
invitation links (the token is the contractor's or the member's access). The same template replaces the
path in the request's trace span.

uvicorn's own access log (which writes the whole path) is off (``ServerConfig``); this one goes to the logger
``gigcover.access``: in text mode a handler in uvicorn's access format, in JSON mode the root's."""

import logging
import re
import sys
from collections.abc import Callable
from typing import Any, TextIO

import uvicorn
from opentelemetry import trace
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.config import LOG_LEVELS
from uvicorn.logging import AccessFormatter

from api.client_address import client_address
from observability.http_metrics import route_template

ACCESS_LOGGER = "gigcover.access"
log = logging.getLogger(ACCESS_LOGGER)
# Paths whose segments after the prefix are a capability (a token or a link's key).
CAPABILITY = re.compile(
    r"^(/apply|/cards|/certificates|/files|/my/link|/dashboard/reset|/dashboard/invitation)/(?!finished$)[^/]+(.*)"
)
# Span attributes that hold the path or the query (old and new HTTP semantic conventions).
PATH_ATTRIBUTES = ("http.target", "http.url", "url.path", "url.full")


def loggable_path(scope: Scope) -> str:
    """The route's template; when no route ran (a middleware answered first, or no route takes the path),
    the path with the capability segment masked the same way."""
    template = route_template(scope)
    if template != "unmatched":
        return template
    return CAPABILITY.sub(r"\1/{token}\2", scope.get("path", ""))


class AccessLog:
    """Pure ASGI middleware: logs each HTTP request once it has answered (or failed), and takes the path out
    of its trace span."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                # before the answer goes out: the request's span ends with its last byte
                span = trace.get_current_span()
                if span.is_recording():
                    span.set_attributes(
                        {**dict.fromkeys(PATH_ATTRIBUTES, loggable_path(scope)), "url.query": ""}
                    )
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            path = loggable_path(scope)
            log.info(
                '%s - "%s %s HTTP/%s" %d',
                client_address(scope) or "-",
                scope.get("method", ""),
                path,
                scope.get("http_version", "1.1"),
                status,
            )


class _OwnHandler(logging.StreamHandler[TextIO]):
    """The access log's text handler, added once per process."""


class ServerConfig(uvicorn.Config):
    """uvicorn's configuration with its access log off and ours at the server's log level. Every server
    process configures its logging through this (several processes: each at its start)."""

    def __init__(self, app: Callable[..., Any] | str, *, own_access_log: bool = True, **options: Any) -> None:
        self.own_access_log = own_access_log
        super().__init__(app, **(options | {"access_log": False}))

    def configure_logging(self) -> None:
        super().configure_logging()
        if not self.own_access_log:
            return
        level = self.log_level
        log.setLevel(LOG_LEVELS[level.lower()] if isinstance(level, str) else (level or logging.INFO))
        if self.log_config is not None and not any(isinstance(h, _OwnHandler) for h in log.handlers):
            handler = _OwnHandler(sys.stdout)
            handler.setFormatter(
                AccessFormatter('%(levelprefix)s %(client_addr)s - "%(request_line)s" %(status_code)s')
            )
            log.addHandler(handler)
