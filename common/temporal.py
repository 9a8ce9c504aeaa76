"""What every side of Temporal agrees on: how long the API waits for an Update, and the custom search
attributes. The connection itself is integrations/temporal.py."""

from temporalio.common import SearchAttributeKey

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
