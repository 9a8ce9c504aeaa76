"""Whether a new assignment likely repeats one in force (domain.duplicate_assignments): the dashboard asks
for confirmation before creating it. The API creates as asked; this only reads."""

from sqlalchemy.orm import Session

from db.models import Assignment
from domain.dates import coverage_period
from domain.duplicate_assignments import Existing, likely_duplicates
from domain.errors import DomainError
from services.assignments import AssignmentIn
from services.lookups import get_contractor, get_job, now, scoped
from services.tenancy import Tenant

CHECKED = 200  # the newest assignments of the same contractor and job looked at


def duplicates_of(session: Session, tenant: Tenant, body: AssignmentIn) -> list[Assignment]:
    """The tenant's assignments in force for the same contractor and job whose dates overlap the new one's
    (its dates as ``POST /assignments`` would default them). Terms the service would refuse: none (the
    creation then says why)."""
    try:
        contractor = get_contractor(session, tenant, body.contractor)
        job = get_job(session, tenant, body.job)
        period = coverage_period(now(), body.effective_date, body.end_date)
    except DomainError:
        return []
    rows = list(
        session.scalars(
            scoped(Assignment, tenant)
            .where(Assignment.contractor_id == contractor.id, Assignment.job_id == job.id)
            .order_by(Assignment.seq.desc())
            .limit(CHECKED)
        )
    )
    held = [Existing(r.id, r.status, r.cancelled, r.effective_date, r.end_date) for r in rows]
    found = set(likely_duplicates(held, period.effective_date, period.end_date))
    return [r for r in rows if r.id in found]
