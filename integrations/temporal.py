"""One way to reach Temporal, shared by the API, the worker, manage.py and the tests: pydantic payloads and
the tracing interceptors."""

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import Runtime

from common.settings import Settings
from observability.tracing import temporal_interceptors


async def connect(settings: Settings, runtime: Runtime | None = None) -> Client:
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
        interceptors=temporal_interceptors(settings),
        runtime=runtime,
    )
