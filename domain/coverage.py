"""Coverage types and the state each one is rated in."""

from enum import StrEnum
from typing import Any


class CoverageType(StrEnum):
    GENERAL = "general"
    WORKERS_COMP = "workers-comp"
    PROFESSIONAL = "professional"


COVERAGE_TYPES = tuple(c.value for c in CoverageType)
# Each coverage as staff and contractors read it (the dashboard's labels, the premium calculator).
COVERAGE_WORDS = {
    CoverageType.WORKERS_COMP: "Workers' comp",
    CoverageType.GENERAL: "General liability",
    CoverageType.PROFESSIONAL: "Professional liability",
}


def rating_state(coverage: CoverageType, *, work_state: str, residence_state: str) -> str:
    """Workers' comp follows the work state; liability follows where the contractor lives."""
    return work_state if coverage is CoverageType.WORKERS_COMP else residence_state


def work_state(job_address: dict[str, Any] | None, home_address: dict[str, Any]) -> str:
    """Where the work happens: the job's location, else (remote work) where the contractor lives."""
    return (job_address or {}).get("region") or home_address["region"]
