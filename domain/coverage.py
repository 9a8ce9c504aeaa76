"""Coverage types and the state each one is rated in."""

from enum import StrEnum


class CoverageType(StrEnum):
    GENERAL = "general"
    WORKERS_COMP = "workers-comp"
    PROFESSIONAL = "professional"


COVERAGE_TYPES = tuple(c.value for c in CoverageType)


def rating_state(coverage: CoverageType, *, work_state: str, residence_state: str) -> str:
    """Workers' comp follows the work state; liability follows where the contractor lives."""
    return work_state if coverage is CoverageType.WORKERS_COMP else residence_state
