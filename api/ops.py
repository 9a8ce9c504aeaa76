"""What ops call on the API: ``/healthz`` (the process answers), ``/readyz`` (the database and Temporal
answer too) and ``/metrics`` (Prometheus: requests by route, status and latency, and the business numbers)."""

import asyncio
from datetime import timedelta
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text

from common.settings import Settings
from observability.business import BusinessCollector
from observability.http_metrics import ApiMetrics, RequestMetrics, may_scrape, metrics_response

READY_TIMEOUT_SECONDS = 5.0


def _database_ready(request: Request) -> None:
    with request.app.state.session_factory() as session:
        session.execute(text("SELECT 1"))


async def _temporal_ready(request: Request) -> None:
    client = request.app.state.temporal.service_client
    if not await client.check_health(timeout=timedelta(seconds=READY_TIMEOUT_SECONDS)):
        raise RuntimeError("Temporal is not serving")


def install_ops(app: FastAPI, settings: Settings) -> None:
    metrics = ApiMetrics()
    metrics.scraped.register(BusinessCollector(lambda: app.state.session_factory))
    app.add_middleware(RequestMetrics, metrics=metrics)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> Response:
        checks: dict[str, Any] = {}
        for name, check in (
            ("database", asyncio.to_thread(_database_ready, request)),
            ("temporal", _temporal_ready(request)),
        ):
            try:
                await asyncio.wait_for(check, READY_TIMEOUT_SECONDS)
                checks[name] = "ok"
            except Exception as error:
                checks[name] = f"unavailable: {type(error).__name__}"
        ready = all(value == "ok" for value in checks.values())
        return JSONResponse(
            {"status": "ready" if ready else "not ready", **checks}, status_code=200 if ready else 503
        )

    @app.get("/metrics", include_in_schema=False)
    def scrape(request: Request) -> Response:
        if not may_scrape(request, settings.metrics_token):
            return JSONResponse({"message": "Not allowed", "error_code": "forbidden"}, status_code=403)
        return metrics_response(metrics.scraped)
