"""Pure ASGI middleware: a ``request-id`` header on every response, and a clean 500 for surprises.

It sits outermost so that even an unexpected exception becomes ``{"error_code": "general"}`` with the
request id, and no stack trace ever reaches the body.
"""

import json
import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.access_log import loggable_path
from common.ids import new_id
from common.logs import new_log_context

log = logging.getLogger("gigcover.api")


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_id("request")
        scope.setdefault("state", {})["request_id"] = request_id
        new_log_context(request_id=request_id)
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            path = loggable_path(scope)  # the route's template: a path may carry a link's token
            log.exception("unhandled error in %s %s (%s)", scope.get("method"), path, request_id)
            if started:
                raise
            body = json.dumps(
                {"message": f"An unexpected error occurred (request {request_id})", "error_code": "general"}
            ).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                        (b"request-id", request_id.encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
