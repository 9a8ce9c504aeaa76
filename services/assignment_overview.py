"""What the dashboard shows of assignments: a filtered page of them with the names they refer to, and one
assignment with its invoices, its money and what may still be done to it (domain.assignment_actions, the
rules services.assignments enforces)."""

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from db.models import Assignment, Contractor, Invoice, Job, JobCategory
from domain.assignment_actions import may_cancel, may_extend
from domain.errors import DomainError
from services.assignment_money import Movement, money_moved
from services.assignments import assignment_snapshot, current_assignment
from services.lookups import Listing, filtered, get_assignment, newest_first, now, scoped
from services.pickers import Choice, Typed, resolve
from services.tenancy import Tenant
from services.workflow_calls import WorkflowCalls


def names_of(session: Session, rows: list[Assignment]) -> dict[str, str]:
    """The contractors' full names and the jobs' names of these assignments, by id."""
    contractor_ids = {r.contractor_id for r in rows}
    job_ids = {r.job_id for r in rows}
    names = {
        c.id: c.full_name
        for c in session.scalars(select(Contractor).where(Contractor.id.in_(contractor_ids)))
    }
    names |= {j.id: j.name for j in session.scalars(select(Job).where(Job.id.in_(job_ids)))}
    return names


@dataclass(frozen=True)
class AssignmentFilters:
    """What the list is narrowed to; each empty one is no filter. ``state``: where the work happens (the
    job's state, else the contractor's for remote work); ``job_type``: the job's category."""

    status: str = ""
    contractor: Typed = field(default_factory=Typed)
    job: Typed = field(default_factory=Typed)
    state: str = ""
    job_type: str = ""


@dataclass(frozen=True)
class AssignmentList:
    listing: Listing[Assignment]
    names: dict[str, str]
    job_types: list[JobCategory]
    picked: dict[str, Choice]  # the contractor and job the filters name
    unresolved: dict[str, DomainError]  # a filter naming none or several: no rows, and why


def job_types_of(session: Session, tenant: Tenant) -> list[JobCategory]:
    """The job types (categories) the tenant's jobs are of, by name: what the filters offer."""
    used = scoped(Job, tenant).with_only_columns(Job.category_id).distinct()
    return list(
        session.scalars(select(JobCategory).where(JobCategory.id.in_(used)).order_by(JobCategory.name))
    )


def list_assignments(
    session: Session, tenant: Tenant, filters: AssignmentFilters, after: str | None, per_page: int
) -> AssignmentList:
    """A page of the tenant's assignments (by status, contractor, job, state and job type). The contractor
    and job are named as a person types them (services.pickers); one that names none or several of the
    tenant's is in ``unresolved`` and the page lists nothing."""
    picked: dict[str, Choice] = {}
    unresolved: dict[str, DomainError] = {}
    for kind, typed in (("contractor", filters.contractor), ("job", filters.job)):
        try:
            choice = resolve(session, tenant, kind, typed)
        except DomainError as error:
            unresolved[kind] = error
            continue
        if choice is not None:
            picked[kind] = choice
    types = job_types_of(session, tenant)
    if unresolved:
        return AssignmentList(Listing([], None), {}, types, picked, unresolved)
    query = filtered(
        scoped(Assignment, tenant),
        {
            Assignment.status: filters.status or None,
            Assignment.contractor_id: picked["contractor"].id if "contractor" in picked else None,
            Assignment.job_id: picked["job"].id if "job" in picked else None,
        },
    )
    if filters.job_type:
        of_type = scoped(Job, tenant).where(Job.category_id == filters.job_type).with_only_columns(Job.id)
        query = query.where(Assignment.job_id.in_(of_type))
    if filters.state:
        state = filters.state.upper()
        job_state = Job.address["region"].as_string()
        in_state = scoped(Job, tenant).where(job_state == state).with_only_columns(Job.id)
        remote = scoped(Job, tenant).where(func.coalesce(job_state, "") == "").with_only_columns(Job.id)
        lives_in = (
            scoped(Contractor, tenant)
            .where(Contractor.address["region"].as_string() == state)
            .with_only_columns(Contractor.id)
        )
        query = query.where(
            or_(
                Assignment.job_id.in_(in_state),
                and_(Assignment.job_id.in_(remote), Assignment.contractor_id.in_(lives_in)),
            )
        )
    listing = newest_first(session, query, Assignment, after, per_page)
    return AssignmentList(listing, names_of(session, listing.rows), types, picked, {})


@dataclass(frozen=True)
class AssignmentOverview:
    row: Assignment
    snapshot: dict[str, Any]
    names: dict[str, str]
    invoices: list[Invoice]
    moved: list[Movement]
    may_cancel: bool
    may_extend: bool
    may_invoice: bool


def assignment_overview(
    session: Session, tenant: Tenant, assignment_id: str, workflows: WorkflowCalls
) -> AssignmentOverview:
    """One assignment as its page shows it. Cancelling, extending and reporting final pay act on its job's
    current assignment: an assignment another one replaced offers none of them."""
    row = get_assignment(session, tenant, assignment_id)
    invoices = session.scalars(
        scoped(Invoice, tenant).where(Invoice.assignment_id == row.id).order_by(Invoice.seq)
    )
    current = current_assignment(session, tenant, None, row.job_id)
    acts_on_job = current is not None and current.id == row.id
    return AssignmentOverview(
        row=row,
        snapshot=assignment_snapshot(row, workflows),
        names=names_of(session, [row]),
        invoices=list(invoices),
        moved=money_moved(session, tenant, row),
        may_cancel=acts_on_job and may_cancel(row.cancelled, row.effective_date, now()),
        may_extend=acts_on_job and may_extend(row.status, row.cancelled),
        may_invoice=acts_on_job and not row.cancelled,
    )
