"""Outbound HTTP with bounded answers: every exchange has one deadline for the whole of it (connecting, the
TLS handshake, sending, the answer's headers and body) and reads at most a fixed number of bytes of the
answer, so a partner that answers a huge body or drips it a byte at a time costs neither memory nor time.

httpx's timeouts are per socket operation: a receiver sending one byte every two seconds never trips a
ten-second read timeout. Here each socket operation waits at most what is left of the exchange's deadline
(the network backend below asks the calling thread's deadline), and the body is read in chunks until the
cap, then the connection is dropped."""

import json
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

MAX_ANSWER_BYTES = 64 * 1024

_local = threading.local()


def _left(timeout: float | None, error: type[Exception]) -> float | None:
    """``timeout``, or less when the calling thread's exchange has less time left."""
    deadline: float | None = getattr(_local, "deadline", None)
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise error("the exchange's deadline has passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> Any:
        secured = self._stream.start_tls(
            ssl_context, server_hostname, _left(timeout, httpcore.ConnectTimeout)
        )
        return _DeadlineStream(secured)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self._backend = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        left = _left(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._backend.connect_tcp(host, port, left, local_address, socket_options))

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.NetworkStream:
        left = _left(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._backend.connect_unix_socket(path, left, socket_options))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class _DeadlineTransport(httpx.HTTPTransport):
    """httpx's own transport (its connection pool and error mapping) over the deadline-aware backend."""

    def __init__(self) -> None:
        super().__init__()
        limits = httpx.Limits()
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_DeadlineBackend(),
        )


def bounded_client(**options: Any) -> httpx.Client:
    """An ``httpx.Client`` for ``exchange``; ``options`` as httpx takes them (base_url, headers, …)."""
    headers = {"Accept-Encoding": "identity", **options.pop("headers", {})}  # a cap on what is decoded, too
    return httpx.Client(transport=_DeadlineTransport(), headers=headers, **options)


class AnswerTooLarge(httpx.HTTPError):
    """The answer's body was longer than the cap (only raised when the caller needs the whole body)."""


@dataclass(frozen=True)
class Answer:
    status_code: int
    headers: httpx.Headers
    content: bytes
    complete: bool  # False: the body went on past the cap and was not read

    def json(self) -> Any:
        if not self.complete:
            raise AnswerTooLarge(f"the answer is larger than {len(self.content)} bytes")
        return json.loads(self.content)


def exchange(
    client: httpx.Client,
    method: str,
    url: str,
    seconds: float,
    max_bytes: int = MAX_ANSWER_BYTES,
    **request: Any,
) -> Answer:
    """One request and its answer within ``seconds`` in all (else httpx.TimeoutException), reading at most
    ``max_bytes`` of the body; redirects are not followed."""
    outer = getattr(_local, "deadline", None)
    _local.deadline = time.monotonic() + seconds
    try:
        built = client.build_request(method, url, timeout=seconds, **request)
        response = client.send(built, stream=True, follow_redirects=False)
        try:
            body = bytearray()
            complete = True
            for chunk in response.iter_raw():
                body += chunk
                if len(body) > max_bytes:
                    complete = False
                    del body[max_bytes:]
                    break
            return Answer(response.status_code, response.headers, bytes(body), complete)
        finally:
            response.close()  # an answer not read to its end closes its connection
    finally:
        _local.deadline = outer
