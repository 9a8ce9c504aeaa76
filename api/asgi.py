"""Helpers for the pure ASGI middleware: replaying a request's body they read before the app does, and
reading a cookie from the raw headers."""

from http.cookies import SimpleCookie

from starlette.types import Message, Receive, Scope


def replaying(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the app the body already read, then whatever comes next."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def read_cookie(scope: Scope, name: str) -> str | None:
    for header, value in scope["headers"]:
        if header == b"cookie":
            morsel = SimpleCookie(value.decode("latin-1")).get(name)
            if morsel is not None and morsel.value:
                return morsel.value
    return None
