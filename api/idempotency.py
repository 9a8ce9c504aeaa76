"""Idempotency keys for POST and PUT, stored in the database.

``Ten99Policy-Idempotent-Key`` wins over ``Idempotency-Key`` (the Python client sends a random
``Idempotency-Key`` on every POST/PUT). The first response for a (API key, idempotency key) pair is stored
and replayed, status and body, for 24 hours. A claim row with a unique constraint is written *before* the
request runs, so two racing requests cannot both run: the second waits for the first and replays it.
The same key with a different request is refused with ``idempotency``.
"""

import asyncio
import hashlib
import json
import time
from dataclasses import dataclass

from anyio import to_thread
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import api_key_from_header
from db.models import IdempotencyRecord
from domain.errors import DomainError
from services import api_keys
from services.api_keys import hash_key

REPLAY_WINDOW = 24 * 3600
WAIT_FOR_FIRST = 30.0
NOT_STORED = {401, 429}


@dataclass(frozen=True)
class Claimed:
    record_id: int


@dataclass(frozen=True)
class Replay:
    status: int
    body: str


class Mismatch:
    pass


class InProgress:
    pass


Outcome = Claimed | Replay | Mismatch | InProgress


def claim(
    factory: sessionmaker[Session], api_key_hash: str, key: str, method: str, path: str, request_hash: str
) -> Outcome:
    now = int(time.time())
    with factory() as session:
        session.execute(
            delete(IdempotencyRecord).where(
                IdempotencyRecord.api_key_hash == api_key_hash,
                IdempotencyRecord.key == key,
                IdempotencyRecord.created < now - REPLAY_WINDOW,
            )
        )
        session.commit()
        record = IdempotencyRecord(
            api_key_hash=api_key_hash,
            key=key,
            method=method,
            path=path,
            request_hash=request_hash,
            created=now,
        )
        session.add(record)
        try:
            session.commit()
            return Claimed(record.id)
        except IntegrityError:
            session.rollback()
        existing = session.scalar(
            select(IdempotencyRecord).where(
                IdempotencyRecord.api_key_hash == api_key_hash, IdempotencyRecord.key == key
            )
        )
        if existing is None:  # expired and removed between our two statements: try once more
            return claim(factory, api_key_hash, key, method, path, request_hash)
        if existing.request_hash != request_hash:
            return Mismatch()
        if existing.status_code is None or existing.response_body is None:
            return InProgress()
        return Replay(existing.status_code, existing.response_body)


def _key_works(factory: sessionmaker[Session], api_key: str) -> bool:
    """Only a working key gets a stored response replayed: a revoked or expired key gets 401 at once."""
    with factory() as session:
        try:
            api_keys.authenticate(session, api_key)
        except DomainError:
            return False
        return True


def finish(factory: sessionmaker[Session], record_id: int, status: int | None, body: str) -> None:
    with factory() as session:
        record = session.get(IdempotencyRecord, record_id)
        if record is None:
            return
        if status is None or status in NOT_STORED:
            session.delete(record)
        else:
            record.status_code, record.response_body = status, body
        session.commit()


def _json_response(status: int, body: str, key: str, replayed: bool) -> tuple[Message, Message]:
    payload = body.encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        (b"ten99policy-idempotent-key", key.encode()),
    ]
    if replayed:
        headers.append((b"idempotent-replayed", b"true"))
    return (
        {"type": "http.response.start", "status": status, "headers": headers},
        {"type": "http.response.body", "body": payload},
    )


def _error(status: int, message: str, key: str) -> tuple[Message, Message]:
    return _json_response(status, json.dumps({"message": message, "error_code": "idempotency"}), key, False)


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode().lower(): v.decode("latin-1") for k, v in scope["headers"]}
        key = headers.get("ten99policy-idempotent-key") or headers.get("idempotency-key")
        api_key = api_key_from_header(headers.get("authorization"))
        if not key or not api_key:
            await self.app(scope, receive, send)
            return
        if len(key) > 255:
            for message in _error(400, "Idempotency keys are at most 255 characters", key[:255]):
                await send(message)
            return

        if not await to_thread.run_sync(_key_works, scope["app"].state.session_factory, api_key):
            await self.app(scope, receive, send)  # 401 from the route: nothing replayed to a revoked key
            return

        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        path = scope["path"] + ("?" + scope["query_string"].decode() if scope.get("query_string") else "")
        request_hash = hashlib.sha256(b"\n".join([scope["method"].encode(), path.encode(), body])).hexdigest()
        factory = scope["app"].state.session_factory

        deadline = time.monotonic() + WAIT_FOR_FIRST
        while True:
            outcome = await to_thread.run_sync(
                claim, factory, hash_key(api_key), key, scope["method"], path, request_hash
            )
            if not isinstance(outcome, InProgress) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)

        if isinstance(outcome, Replay | Mismatch | InProgress):
            if isinstance(outcome, Replay):
                messages = _json_response(outcome.status, outcome.body, key, replayed=True)
            elif isinstance(outcome, Mismatch):
                messages = _error(400, "This idempotency key was already used with a different request", key)
            else:
                messages = _error(409, "A request with this idempotency key is still in progress", key)
            for message in messages:
                await send(message)
            return

        delivered = False

        async def replay_body() -> Message:
            nonlocal delivered
            if delivered:
                return await receive()
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        status: int | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"ten99policy-idempotent-key", key.encode()),
                ]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, replay_body, capture)
        except BaseException:
            await to_thread.run_sync(finish, factory, outcome.record_id, None, "")
            raise
        await to_thread.run_sync(finish, factory, outcome.record_id, status, b"".join(chunks).decode())
