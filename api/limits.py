"""Pure ASGI middleware: a request body over the size limit is answered 413, and a JSON body nested deeper
than the limit 400, both in our error format and before anything parses the body into models."""

import json
import re

from starlette.types import ASGIApp, Receive, Scope, Send

from api.asgi import replaying

STRINGS = re.compile(r'"(?:\\.|[^"\\])*"')
BRACKETS = str.maketrans("", "", "".join(chr(c) for c in range(128) if chr(c) not in "[]{}"))


def json_depth(text: str) -> int:
    """How deeply arrays and objects nest in ``text`` (brackets inside strings do not count)."""
    deepest = depth = 0
    for char in STRINGS.sub("", text).translate(BRACKETS):
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


async def _refuse(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps({"message": message, "error_code": code}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class BodyLimits:
    def __init__(self, app: ASGIApp, max_bytes: int, max_json_depth: int) -> None:
        self.app, self.max_bytes, self.max_json_depth = app, max_bytes, max_json_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH", "DELETE"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        too_large = f"The request body is larger than {self.max_bytes} bytes"
        declared = headers.get(b"content-length", b"0")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await _refuse(send, 413, "request_too_large", too_large)
            return
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_bytes:
                await _refuse(send, 413, "request_too_large", too_large)
                return
        if b"json" in headers.get(b"content-type", b"") and body:
            text = body.decode("utf-8", errors="replace")
            if json_depth(text) > self.max_json_depth:
                message = f"The JSON body nests deeper than {self.max_json_depth} levels"
                await _refuse(send, 400, "invalid_input", message)
                return
        await self.app(scope, replaying(body, receive), send)
