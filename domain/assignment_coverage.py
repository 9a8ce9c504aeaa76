"""Which coverage an assignment gets, and why (seed 001's repeat coverage and seed 003's general opt-in).

1. A matching active policy (same job category, same work state, every requested coverage type, covering
   the assignment's dates) is reused.
2. Else a completed general opt-in for the work state binds new coverage, when its eligibility holds:
   the job category is approved and workers' compensation (only) is requested.
3. Else the standard workflow applies: the contractor gets an application to complete.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class CoveragePath(StrEnum):
    EXISTING_POLICY = "existing_policy"
    GENERAL_OPT_IN = "general_opt_in"
    STANDARD = "standard"
    NOT_BOUND = "not_bound"


BOUND_AT_ONCE = frozenset({CoveragePath.EXISTING_POLICY, CoveragePath.GENERAL_OPT_IN})


@dataclass(frozen=True)
class PolicyOnFile:
    policy_id: str
    category_id: str
    work_state: str
    coverage_types: frozenset[str]
    effective_date: int
    expiration_date: int


@dataclass(frozen=True)
class CoverageDecision:
    path: CoveragePath
    message: str
    policy_id: str | None = None
    opt_in_session_id: str | None = None

    @property
    def binds_now(self) -> bool:
        return binds_now(self.path)


def binds_now(path: str) -> bool:
    """The paths whose coverage is bound at once, by the assignment's own workflow."""
    return path in BOUND_AT_ONCE


def decide_coverage(
    *,
    requested: Sequence[str],
    category_id: str,
    category_approved: bool,
    work_state: str,
    start: int,
    end: int,
    bind: bool,
    policies: Sequence[PolicyOnFile],
    completed_opt_ins: dict[str, str],
) -> CoverageDecision:
    """``completed_opt_ins``: work state -> the contractor's completed general opt-in application there."""
    if not bind:
        return CoverageDecision(
            CoveragePath.NOT_BOUND, "bind is false: the assignment is recorded, no coverage issued"
        )
    wanted = frozenset(requested)
    for policy in sorted(policies, key=lambda p: p.effective_date, reverse=True):
        if (
            policy.category_id == category_id
            and policy.work_state == work_state
            and wanted <= policy.coverage_types
            and policy.effective_date <= start
            and end <= policy.expiration_date
        ):
            return CoverageDecision(
                CoveragePath.EXISTING_POLICY,
                f"Reusing matching active policy {policy.policy_id}",
                policy_id=policy.policy_id,
            )
    opt_in = completed_opt_ins.get(work_state)
    if opt_in is None:
        reason = "No general opt-in found for this work state"
    elif not category_approved:
        reason = "General opt-in eligibility failed: the job category is not approved"
    elif wanted != {"workers-comp"}:
        reason = "General opt-in eligibility failed: it covers workers' compensation only"
    else:
        return CoverageDecision(
            CoveragePath.GENERAL_OPT_IN,
            f"Binding new coverage from general opt-in {opt_in}",
            opt_in_session_id=opt_in,
        )
    return CoverageDecision(
        CoveragePath.STANDARD, f"{reason}: standard workflow applies (an application was sent)"
    )
