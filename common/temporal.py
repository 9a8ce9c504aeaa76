"""One way to reach Temporal, shared by the API, the worker and the tests."""

from temporalio.client import Client
from temporalio.common import SearchAttributeKey
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import Runtime

from common.settings import Settings
from observability.tracing import temporal_interceptors

# How long the API waits for a workflow to answer an Update before it gives the caller a 503.
UPDATE_TIMEOUT_SECONDS = 60.0

# Custom search attributes (ids and stages only, never personal data). `make run` registers them with the
# dev server; docker-compose registers them in its namespace job.
ORGANIZATION_ID = SearchAttributeKey.for_keyword("OrganizationId")
CONTRACTOR_ID = SearchAttributeKey.for_keyword("ContractorId")
ASSIGNMENT_ID = SearchAttributeKey.for_keyword("AssignmentId")
SESSION_ID = SearchAttributeKey.for_keyword("SessionId")
STEP = SearchAttributeKey.for_keyword("Step")
PAYMENT_STAGE = SearchAttributeKey.for_keyword("PaymentStage")
CHARGE_DUE_AT = SearchAttributeKey.for_datetime("ChargeDueAt")

SEARCH_ATTRIBUTES = (
    ORGANIZATION_ID,
    CONTRACTOR_ID,
    ASSIGNMENT_ID,
    SESSION_ID,
    STEP,
    PAYMENT_STAGE,
    CHARGE_DUE_AT,
)


def search_attribute_flags() -> list[str]:
    """``--search-attribute Name=Type`` arguments for ``temporal server start-dev``."""
    kinds = {"KEYWORD": "Keyword", "DATETIME": "Datetime"}
    flags: list[str] = []
    for key in SEARCH_ATTRIBUTES:
        flags += ["--search-attribute", f"{key.name}={kinds[key.indexed_value_type.name]}"]
    return flags


async def connect(settings: Settings, runtime: Runtime | None = None) -> Client:
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
        interceptors=temporal_interceptors(settings),
        runtime=runtime,
    )
