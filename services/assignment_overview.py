"""What the dashboard shows of assignments: a filtered page of them with the names they refer to, and one
assignment with its invoices, its money and what may still be done to it (domain.assignment_actions, the
rules services.assignments enforces)."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Assignment, Contractor, Invoice, Job
from domain.assignment_actions import may_cancel, may_extend
from services.assignment_money import Movement, money_moved
from services.assignments import assignment_snapshot, current_assignment
from services.lookups import Listing, filtered, get_assignment, newest_first, now, scoped
from services.tenancy import Tenant
from services.workflow_calls import WorkflowCalls

CHOICES = 50  # the newest contractors and jobs offered in the form (any id may be typed)


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
class AssignmentList:
    listing: Listing[Assignment]
    names: dict[str, str]
    contractors: list[Contractor]
    jobs: list[Job]


def list_assignments(
    session: Session, tenant: Tenant, filters: dict[str, str], after: str | None, per_page: int
) -> AssignmentList:
    """A page of the tenant's assignments (by status, contractor and job), and the newest contractors and
    jobs to suggest in the form."""
    query = filtered(
        scoped(Assignment, tenant),
        {
            Assignment.status: filters.get("status") or None,
            Assignment.contractor_id: filters.get("contractor") or None,
            Assignment.job_id: filters.get("job") or None,
        },
    )
    listing = newest_first(session, query, Assignment, after, per_page)
    contractors = session.scalars(scoped(Contractor, tenant).order_by(Contractor.seq.desc()).limit(CHOICES))
    jobs = session.scalars(scoped(Job, tenant).order_by(Job.seq.desc()).limit(CHOICES))
    return AssignmentList(listing, names_of(session, listing.rows), list(contractors), list(jobs))


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
