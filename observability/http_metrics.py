"""The API's requests by route (the path template, so ids never become labels), method and status, with
their latency; and ``/metrics`` to scrape them with the business numbers."""

import os
import time
from ipaddress import ip_address

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from common.constant_time import equal


class ApiMetrics:
    """``scraped``: what /metrics answers with. When one port is served by several processes (``python -m
    api.serve --processes N`` sets ``PROMETHEUS_MULTIPROC_DIR``), each process's counts are kept in files
    there and every scrape, whichever process answers it, adds up all of them."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        shared = os.environ.get(MULTIPROCESS_DIRECTORY)
        self.scraped = self.registry
        if shared:
            self.scraped = CollectorRegistry()
            MultiProcessCollector(self.scraped, path=shared)
        self.requests = Counter(
            "gigcover_api_requests", "API requests", ["route", "method", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "gigcover_api_request_seconds",
            "API request latency",
            ["route", "method"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )


MULTIPROCESS_DIRECTORY = "PROMETHEUS_MULTIPROC_DIR"  # prometheus_client's own setting, read at its import


def route_template(scope: Scope) -> str:
    """The route's path template (``/api/v1/contractors/{contractor_id}``): one label per route, not per id.
    A route of an included router knows its template without the router's prefix, so the template takes
    the place of the path's last segments and the prefix's literal segments stay as they are."""
    route = scope.get("route")
    template = getattr(route, "path_format", getattr(route, "path", None))
    if template is None:
        return "unmatched"  # 404s: one label, not one per path tried
    ending = [part for part in template.split("/") if part]
    parts = [part for part in scope["path"].split("/") if part]
    return "/" + "/".join(parts[: max(0, len(parts) - len(ending))] + ending)


class RequestMetrics:
    """ASGI middleware counting every HTTP request once it has answered."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == "/metrics":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            route, method = route_template(scope), scope["method"]
            self.metrics.requests.labels(route, method, str(status)).inc()
            self.metrics.latency.labels(route, method).observe(time.perf_counter() - started)


def may_scrape(request: Request, token: str) -> bool:
    """With a token set, only its bearer; without one, only this machine (metrics are not for everyone)."""
    if token:
        sent = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        return equal(token, sent)
    host = request.client.host if request.client else ""
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def metrics_response(registry: CollectorRegistry) -> Response:
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
