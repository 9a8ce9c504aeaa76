"""Jobs: the work a contractor is covered for, with its wage (the premium's base) and its category."""

from enum import StrEnum
from typing import Annotated, Any

from pydantic import Field
from sqlalchemy.orm import Session

from common.schemas import Metadata, Strict, WorkLocation, merge_metadata
from db.models import Job, Quote
from domain.errors import conflict, invalid
from domain.limits import MAX_DURATION_HOURS, MAX_WAGE_CENTS, check_estimated_pay
from domain.premium import estimated_gross_pay
from services import audit
from services.audit import Actor
from services.catalog import approved_category
from services.invoices import reprice_estimates
from services.lookups import get_entity, get_job, now, scoped
from services.tenancy import Tenant
from services.workflow_calls import WorkflowCalls


class WageType(StrEnum):
    FLATFEE = "flatfee"
    HOURLY = "hourly"
    UNIT = "unit"
    BLENDED = "blended"


# Each way of paying as staff read it (the dashboard's labels, the premium calculator).
PAY_TYPE_WORDS = {
    WageType.FLATFEE: "Flat fee for the job",
    WageType.HOURLY: "Per hour",
    WageType.UNIT: "Per unit",
    WageType.BLENDED: "Blended",
}


Wage = Annotated[int, Field(ge=100, le=MAX_WAGE_CENTS, description="Cents (at most $20,000,000)")]
Hours = Annotated[float, Field(gt=0, le=MAX_DURATION_HOURS, allow_inf_nan=False)]


class JobIn(Strict):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(min_length=1, max_length=5000)
    entity: str
    category_code: str | None = None
    wage: Wage
    wage_type: WageType
    years_experience: int | None = Field(None, ge=0, le=80)
    duration_hours: Hours | None = None
    address: WorkLocation | None = None
    custom_metadata: Metadata = Field(default_factory=dict)
    withhold_premium: bool | None = None


class JobUpdate(Strict):
    name: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, min_length=1, max_length=5000)
    entity: str | None = None
    category_code: str | None = None
    wage: Wage | None = None
    wage_type: WageType | None = None
    years_experience: int | None = Field(None, ge=0, le=80)
    duration_hours: Hours | None = None
    address: WorkLocation | None = None
    custom_metadata: Metadata | None = None
    withhold_premium: bool | None = None


# category_code is absent: a missing one is reported as missing_job_category_code by approved_category().
REQUIRED = ("name", "description", "entity", "wage", "wage_type")


def _apply(session: Session, tenant: Tenant, job: Job, changes: dict[str, Any]) -> None:
    for required in REQUIRED:
        if required in changes and changes[required] is None:
            raise invalid(f"{required}: cannot be removed", required)
    if "entity" in changes:
        job.entity_id = get_entity(session, tenant, changes.pop("entity")).id
    if "category_code" in changes:
        job.category_id = approved_category(session, tenant, changes.pop("category_code")).id
    if "custom_metadata" in changes:
        changes["custom_metadata"] = merge_metadata(
            job.custom_metadata or {}, changes["custom_metadata"] or {}
        )
    for field, value in changes.items():
        setattr(job, field, value)
    check_estimated_pay(estimated_gross_pay(job.wage, job.wage_type, job.duration_hours))


def _audit(
    session: Session, tenant: Tenant, actor: Actor | None, action: str, job: Job, **detail: object
) -> None:
    if actor is not None:  # a change made in the dashboard
        audit.record(
            session, tenant.organization_id, actor, action, job.id, environment=tenant.environment, **detail
        )


def create_job(session: Session, tenant: Tenant, body: JobIn, actor: Actor | None = None) -> Job:
    job = Job.new(tenant, custom_metadata={})
    _apply(session, tenant, job, body.model_dump(mode="json"))
    session.add(job)
    _audit(session, tenant, actor, "job.created", job, name=job.name)
    session.commit()
    return job


PAY = ("wage", "wage_type", "duration_hours")


def update_job(
    session: Session,
    tenant: Tenant,
    job_id: str,
    body: JobUpdate,
    workflows: WorkflowCalls | None = None,
    actor: Actor | None = None,
) -> Job:
    """A change of pay reprices the estimate of the job's engagements with no final pay reported yet."""
    job = get_job(session, tenant, job_id)
    before = tuple(getattr(job, field) for field in PAY)
    changes = body.model_dump(mode="json", exclude_unset=True)
    _apply(session, tenant, job, dict(changes))
    _audit(session, tenant, actor, "job.updated", job, fields=sorted(changes))
    session.commit()
    if workflows is not None and tuple(getattr(job, field) for field in PAY) != before:
        reprice_estimates(session, tenant, job, workflows)
    return job


def delete_job(session: Session, tenant: Tenant, job_id: str) -> Job:
    job = get_job(session, tenant, job_id)
    if session.scalar(scoped(Quote, tenant).where(Quote.job_id == job.id).limit(1)) is not None:
        raise conflict("job_is_used", f"Job {job.id} has quotes and cannot be deleted")
    job.deleted_at = now()
    session.commit()
    return job
