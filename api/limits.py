"""Pure ASGI middleware: a request body over the size limit is answered 413, and a JSON body nested deeper
than the limit 400, both in our error format (a page on the browser fronts' paths) and before anything
parses the body into models."""

import re
from dataclasses import dataclass

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from api.asgi import replaying
from api.errors import refusal

STRINGS = re.compile(r'"(?:\\.|[^"\\])*"')
BRACKETS = str.maketrans("", "", "".join(chr(c) for c in range(128) if chr(c) not in "[]{}"))


# Python's json module reads these, but they are not JSON numbers: a value that is not a number at all.
NOT_NUMBERS = re.compile(r"NaN|Infinity")


def outside_strings(text: str) -> str:
    return STRINGS.sub("", text)


def json_depth(text: str, strings_removed: bool = False) -> int:
    """How deeply arrays and objects nest in ``text`` (brackets inside strings do not count)."""
    deepest = depth = 0
    for char in (text if strings_removed else outside_strings(text)).translate(BRACKETS):
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, code: str, message: str) -> None:
    response = await refusal(Request(scope, receive), status, code, message)
    await response(scope, receive, send)


@dataclass(frozen=True)
class UploadLimit:
    """A larger body limit for the uploads of one path (or every path under a prefix ending in "/")."""

    path: str
    max_bytes: int
    error_code: str
    message: str

    def applies_to(self, path: str) -> bool:
        return path.startswith(self.path) if self.path.endswith("/") else path.rstrip("/") == self.path


class BodyLimits:
    def __init__(
        self, app: ASGIApp, max_bytes: int, max_json_depth: int, uploads: tuple[UploadLimit, ...] = ()
    ) -> None:
        self.app, self.max_bytes, self.max_json_depth = app, max_bytes, max_json_depth
        self.uploads = uploads

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH", "DELETE"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        upload = next(
            (u for u in self.uploads if scope["method"] == "POST" and u.applies_to(scope["path"])), None
        )
        max_bytes = upload.max_bytes if upload else self.max_bytes
        code = upload.error_code if upload else "request_too_large"
        too_large = upload.message if upload else f"The request body is larger than {self.max_bytes} bytes"
        declared = headers.get(b"content-length", b"0")
        if declared.isdigit() and int(declared) > max_bytes:
            await _refuse(scope, receive, send, 413, code, too_large)
            return
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > max_bytes:
                await _refuse(scope, receive, send, 413, code, too_large)
                return
        content_type = headers.get(b"content-type", b"")
        if body and (b"json" in content_type or not content_type):  # FastAPI reads both as JSON
            text = outside_strings(body.decode("utf-8", errors="replace"))
            if json_depth(text, strings_removed=True) > self.max_json_depth:
                refusal = f"The JSON body nests deeper than {self.max_json_depth} levels"
                await _refuse(scope, receive, send, 400, "invalid_input", refusal)
                return
            if NOT_NUMBERS.search(text):
                refusal = "The JSON body holds NaN or Infinity, which are not JSON numbers: send a number"
                await _refuse(scope, receive, send, 400, "invalid_input", refusal)
                return
        await self.app(scope, replaying(body, receive), send)
