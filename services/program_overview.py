"""How an organization's program is doing over a period, in one environment: applications started and
completed, contractors insured, premium and contractor pay, by work state, by job category and by week or
month. Every row read is the tenant's own (organization and environment); the dashboard's overview shows
what this returns.

- Applications: those started (created) in the period; "completed" counts those of them the contractor
  finished. Their state is the work state applied for; their category the job's (a general opt-in has none).
- Coverage: assignments covered (active, or ended after running their course; cancelled ones are left out).
  A contractor is insured in the period when one of their covered assignments overlaps it. Premium and
  contractor pay are those of the covered assignments that started in the period, in the step they started:
  the premium as it stands now (after any final-pay adjustment), the pay from the newest invoice not voided
  (the final pay reported), else the job's estimated pay, as the premium was rated on.
"""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from db.models import ApplicationSession, Assignment, Invoice, Job, JobCategory, Policy, Quote
from domain.application import Status
from domain.geography import US_STATES
from domain.periods import Period, Step, choose_period, step_of, steps
from domain.premium import estimated_gross_pay
from domain.statuses import AssignmentStatus, InvoiceStatus
from services.tenancy import Tenant

COVERED = (AssignmentStatus.ACTIVE, AssignmentStatus.EXPIRED)
NO_CATEGORY = "General opt-in (any job)"


@dataclass
class Figures:
    """The numbers of one group (a state, a category, a week or month, or the whole program)."""

    label: str
    started: int = 0
    completed: int = 0
    premium: int = 0
    pay: int = 0
    insured: set[str] = field(default_factory=set)

    @property
    def completion_rate(self) -> float | None:
        return self.completed / self.started if self.started else None

    @property
    def contractors_insured(self) -> int:
        return len(self.insured)


@dataclass(frozen=True)
class ProgramOverview:
    period: Period
    total: Figures
    over_time: list[Figures]
    short_labels: list[str]  # each step of over_time named briefly, for a chart
    by_state: list[Figures]
    by_category: list[Figures]


def period_for(preset: str, first: str, last: str, grouping: str, today: dt.date | None = None) -> Period:
    """The period a viewer chose (see ``domain.periods.choose_period``); refused in their words."""
    return choose_period(preset, first, last, grouping, today or dt.datetime.now(dt.UTC).date())


def _scope(model: Any, tenant: Tenant) -> Any:
    return and_(
        model.organization_id == tenant.organization_id,
        model.environment == tenant.environment,
        model.deleted_at.is_(None),
    )


def _applications(session: Session, tenant: Tenant, period: Period) -> Any:
    return session.execute(
        select(
            ApplicationSession.created,
            ApplicationSession.status,
            ApplicationSession.work_state,
            JobCategory.name,
        )
        .outerjoin(Job, and_(Job.id == ApplicationSession.job_id, _scope(Job, tenant)))
        .outerjoin(JobCategory, JobCategory.id == Job.category_id)
        .where(
            _scope(ApplicationSession, tenant),
            ApplicationSession.created >= period.start,
            ApplicationSession.created < period.end,
        )
    )


def _coverage(session: Session, tenant: Tenant, period: Period) -> Any:
    final_pay = (
        select(Invoice.gross_pay)
        .where(
            Invoice.assignment_id == Assignment.id,
            _scope(Invoice, tenant),
            Invoice.status != InvoiceStatus.VOID,
        )
        .order_by(Invoice.seq.desc())
        .limit(1)
        .scalar_subquery()
    )
    return session.execute(
        select(
            Assignment.contractor_id,
            Assignment.effective_date,
            Assignment.premium,
            Quote.work_state,
            JobCategory.name,
            Job.wage,
            Job.wage_type,
            Job.duration_hours,
            final_pay,
        )
        .join(Policy, and_(Policy.id == Assignment.policy_id, _scope(Policy, tenant)))
        .join(Quote, and_(Quote.id == Policy.quote_id, _scope(Quote, tenant)))
        .join(Job, and_(Job.id == Assignment.job_id, _scope(Job, tenant)))
        .join(JobCategory, JobCategory.id == Job.category_id)
        .where(
            _scope(Assignment, tenant),
            Assignment.status.in_([s.value for s in COVERED]),
            Assignment.effective_date < period.end,
            Assignment.end_date > period.start,
        )
    )


def _group(groups: dict[str, Figures], label: str) -> Figures:
    if label not in groups:
        groups[label] = Figures(label)
    return groups[label]


def program_overview(session: Session, tenant: Tenant, period: Period) -> ProgramOverview:
    found: list[Step] = steps(period)
    total = Figures("All")
    over_time = [Figures(s.label) for s in found]
    states: dict[str, Figures] = {}
    categories: dict[str, Figures] = {}
    for created, status, state, category in _applications(session, tenant, period):
        done = status == Status.APPLICATION_COMPLETE
        at = step_of(found, created)
        place = US_STATES.get(state, state)
        wheres = [total, _group(states, place), _group(categories, category or NO_CATEGORY)]
        for figures in wheres + ([over_time[at]] if at is not None else []):
            figures.started += 1
            figures.completed += done
    for contractor, start, premium, state, category, wage, wage_type, hours, final in _coverage(
        session, tenant, period
    ):
        pay = final if final is not None else estimated_gross_pay(wage, wage_type, hours)
        wheres = [total, _group(states, US_STATES.get(state, state)), _group(categories, category)]
        for figures in wheres:
            figures.insured.add(contractor)
        at = step_of(found, start)  # None: it started before the period
        if at is not None:
            for figures in [*wheres, over_time[at]]:
                figures.premium += premium
                figures.pay += pay
    return ProgramOverview(
        period,
        total,
        over_time,
        [s.short for s in found],
        _ranked(states),
        _ranked(categories),
    )


def _ranked(groups: dict[str, Figures]) -> list[Figures]:
    """Most contractors insured first, then most applications, then by name."""
    return sorted(groups.values(), key=lambda f: (-f.contractors_insured, -f.started, f.label))


def totals_by_step(overview: ProgramOverview) -> dict[str, list[int]]:
    """The series the charts draw, one value a step."""
    series: dict[str, list[int]] = defaultdict(list)
    for figures in overview.over_time:
        series["started"].append(figures.started)
        series["completed"].append(figures.completed)
        series["premium"].append(figures.premium)
        series["pay"].append(figures.pay)
    return dict(series)
