"""Which coverage an assignment gets, and why (seed 001's repeat coverage and seed 003's general opt-in).

1. A matching active policy (same job category, same work state, every requested coverage type, covering
   the assignment's dates) is reused.
2. Else the contractor's newest completed application on file binds new coverage for the assignment's own
   dates ("Managing repeat coverage"), when: the coverage types are the ones it procured; the job category
   is the same; for workers' comp the work state, for general liability the contractor's home state, is
   unchanged; and, where the contractor pays by card, a card is on file.
3. Else a completed general opt-in for the work state binds new coverage, when its eligibility holds:
   the job category is approved and workers' compensation (only) is requested.
4. Else the standard workflow applies: the contractor gets an application to complete; ``message`` names
   the rule that sent it there.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class CoveragePath(StrEnum):
    EXISTING_POLICY = "existing_policy"
    GENERAL_OPT_IN = "general_opt_in"
    STANDARD = "standard"
    NOT_BOUND = "not_bound"
    APPLICATION_ON_FILE = "application_on_file"


BOUND_AT_ONCE = frozenset(
    {CoveragePath.EXISTING_POLICY, CoveragePath.GENERAL_OPT_IN, CoveragePath.APPLICATION_ON_FILE}
)


@dataclass(frozen=True)
class PolicyOnFile:
    policy_id: str
    category_id: str
    work_state: str
    coverage_types: frozenset[str]
    effective_date: int
    expiration_date: int


@dataclass(frozen=True)
class ApplicationOnFile:
    """A completed application for a job (not a general opt-in), with the terms it was quoted on."""

    session_id: str
    category_id: str
    category_name: str
    coverage_types: frozenset[str]
    work_state: str
    home_state: str


@dataclass(frozen=True)
class Engagement:
    """What the new assignment asks for."""

    coverage_types: frozenset[str]
    category_id: str
    category_name: str
    work_state: str
    home_state: str
    pays_by_card: bool
    card_on_file: bool


def repeat_mismatch(application: ApplicationOnFile, wanted: Engagement) -> str | None:
    """Why the application on file cannot cover this assignment, naming the rule; None when it can."""
    if wanted.coverage_types != application.coverage_types:
        on_file = ", ".join(sorted(application.coverage_types))
        return f"Coverage type mismatch: the application on file covers {on_file}"
    if wanted.category_id != application.category_id:
        return (
            f"Job category mismatch: the application on file is for {application.category_name}, "
            f"not {wanted.category_name}"
        )
    if "workers-comp" in wanted.coverage_types and wanted.work_state != application.work_state:
        return f"Work state mismatch: the application on file is for work in {application.work_state}"
    if "general" in wanted.coverage_types and wanted.home_state != application.home_state:
        return f"Home state mismatch: the contractor lived in {application.home_state} when they applied"
    if wanted.pays_by_card and not wanted.card_on_file:
        return "No card on file to charge"
    return None


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
    application_on_file: ApplicationOnFile | None = None,
    engagement: Engagement | None = None,
) -> CoverageDecision:
    """``completed_opt_ins``: work state -> the contractor's completed general opt-in application there;
    ``application_on_file``: the contractor's newest completed application for a job, if any."""
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
    repeat_reason = None
    if application_on_file is not None and engagement is not None:
        repeat_reason = repeat_mismatch(application_on_file, engagement)
        if repeat_reason is None:
            return CoverageDecision(
                CoveragePath.APPLICATION_ON_FILE,
                f"Binding new coverage from the application on file {application_on_file.session_id}",
                opt_in_session_id=application_on_file.session_id,
            )
    opt_in = completed_opt_ins.get(work_state)
    if opt_in is None and repeat_reason is not None:
        reason = repeat_reason
    elif opt_in is None:
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
