"""The FastAPI application: a thin front over the database and Temporal."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

from api.access_log import AccessLog
from api.client_address import install_trusted_proxies
from api.dashboard.app import install_dashboard
from api.deps import no_nul_in_parameters
from api.docs import install_docs
from api.errors import install_error_handlers, serve_pages_on
from api.hosted import cards, pages
from api.hosted import certificates as certificate_pages
from api.hosted.rendering import refusal_page
from api.hosted.security import HOSTED_PREFIXES, HostedPageHeaders
from api.idempotency import IdempotencyMiddleware
from api.limits import BodyLimits, UploadLimit
from api.ops import install_ops
from api.portal import pages as portal_pages
from api.portal.security import EvenAnswerTime, SignInLimits
from api.request_id import RequestIdMiddleware
from api.routers import (
    api_keys,
    application_sessions,
    assignments,
    bills,
    category_codes,
    certificates,
    contractors,
    creatoriq,
    creatoriq_webhooks,
    emails,
    entities,
    events,
    files,
    insurance_requirements,
    invoices,
    jobs,
    organization,
    policies,
    quotes,
    webhook_deliveries,
    webhook_endpoints,
)
from api.throttle import HostedLinkThrottle, SharedCounter
from common import encryption
from common.logs import keep_quiet
from common.settings import Settings, get_settings
from common.startup import check_settings
from db.engine import make_engine, make_session_factory
from integrations import temporal
from observability.tracing import configure_tracing, tracing_enabled
from outbox.dispatch import Dispatcher
from outbox.records import track_commits
from services.certificates import MAX_CERTIFICATE_BYTES, TOO_LARGE

API_PREFIX = "/api/v1"
# A certificate may be 15 MB (1099Policy's limit), plus the multipart framing and the other fields.
_CERTIFICATE_BODY = MAX_CERTIFICATE_BYTES + 64 * 1024
CERTIFICATE_UPLOADS = (
    UploadLimit(f"{API_PREFIX}/files/certificates", _CERTIFICATE_BODY, "invalid_file_size", TOO_LARGE),
    UploadLimit("/certificates/", _CERTIFICATE_BODY, "invalid_file_size", TOO_LARGE),
)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    check_settings(settings)  # each environment's Stripe keys of its own mode, usable encryption keys
    encryption.install(settings)
    configure_tracing(settings, "gigcover-api")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        keep_quiet()
        engine = make_engine(settings.resolved_database_url, settings.database_pool_size)
        app.state.settings = settings
        app.state.session_factory = track_commits(make_session_factory(engine))
        app.state.temporal = await temporal.connect(settings)
        app.state.dispatcher = Dispatcher(
            app.state.temporal, settings, app.state.session_factory, asyncio.get_running_loop()
        )
        yield
        engine.dispose()

    app = FastAPI(
        title="gigcover API",
        version="1",
        description="Quote, bind and verify workers' comp and liability coverage for contractors. "
        "Wire-compatible with 1099Policy's public API and its official `ten99policy` clients.",
        lifespan=lifespan,
        docs_url=None,  # served by install_docs, from installed assets rather than a CDN
        redoc_url=None,
    )
    install_docs(app)
    install_error_handlers(app)
    serve_pages_on(app, HOSTED_PREFIXES, refusal_page)  # a contractor's browser gets pages, not JSON
    app.state.api_rate_limit = SharedCounter(settings.rate_limit_requests, settings.rate_limit_window_seconds)
    app.state.portal_limits = SignInLimits(settings)
    app.add_middleware(IdempotencyMiddleware)
    app.add_middleware(EvenAnswerTime, seconds=settings.portal_answer_seconds)
    app.add_middleware(
        HostedLinkThrottle,
        limit=settings.unknown_link_limit,
        window_seconds=settings.unknown_link_window_seconds,
    )
    app.add_middleware(HostedPageHeaders, settings=settings)
    app.add_middleware(
        BodyLimits,
        max_bytes=settings.max_request_bytes,
        max_json_depth=settings.max_json_depth,
        uploads=CERTIFICATE_UPLOADS,
    )
    app.add_middleware(AccessLog)
    app.add_middleware(RequestIdMiddleware)
    install_trusted_proxies(app, settings)  # added last = outermost: every other part sees the client

    v1 = APIRouter(prefix=API_PREFIX, dependencies=[Depends(no_nul_in_parameters)])
    for module in (
        entities,
        contractors,
        category_codes,
        jobs,
        quotes,
        policies,
        webhook_endpoints,
        webhook_deliveries,
        events,
        emails,
        bills,
        application_sessions,
        assignments,
        invoices,
        organization,
        creatoriq,
        api_keys,
        certificates,  # /files/certificates: before anything else under /files
        insurance_requirements,
    ):
        v1.include_router(module.router)
    v1.include_router(certificates.requests_router)
    app.include_router(v1)
    checked = [Depends(no_nul_in_parameters)]
    app.include_router(creatoriq_webhooks.router, dependencies=checked)
    app.include_router(files.router, dependencies=checked)
    app.include_router(pages.router, dependencies=checked)
    app.include_router(cards.router, dependencies=checked)
    app.include_router(certificate_pages.router, dependencies=checked)
    app.include_router(portal_pages.router, dependencies=checked)
    install_dashboard(app, settings)
    install_ops(app, settings)
    if tracing_enabled(settings):
        FastAPIInstrumentor.instrument_app(app, excluded_urls="healthz,readyz,metrics")

    return app
