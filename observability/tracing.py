"""OpenTelemetry traces, off unless ``GIGCOVER_OTLP_ENDPOINT`` is set: one trace runs from an API request
through the workflows it starts or updates (temporalio's TracingInterceptor carries the context in Temporal
headers) to their activities, the Stripe call and the webhook delivery."""

from collections.abc import Sequence

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from temporalio.client import Interceptor
from temporalio.contrib.opentelemetry import TracingInterceptor

from common.settings import Settings

_configured: list[bool] = []


def install_tracer(service: str, exporter: SpanExporter, batch: bool = True) -> None:
    """Make ``exporter`` receive this process's spans (once per process; tests pass an in-memory one and
    ``batch=False``, so each span is exported as it ends)."""
    if _configured:
        return
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    _configured.append(True)


def tracing_enabled(settings: Settings) -> bool:
    return bool(settings.otlp_endpoint) or bool(_configured)


def configure_tracing(settings: Settings, service: str) -> None:
    if settings.otlp_endpoint and not _configured:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        install_tracer(service, OTLPSpanExporter(endpoint=settings.otlp_endpoint))


def temporal_interceptors(settings: Settings) -> Sequence[Interceptor]:
    """For the Temporal client; a worker made from that client applies them to workflows and activities."""
    return [TracingInterceptor()] if tracing_enabled(settings) else []
