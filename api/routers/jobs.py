from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import Field
from sqlalchemy.orm import Session

from api.deps import CurrentTenant, DbSession, Tenant
from api.errors import conflict, invalid_input
from api.queries import PageParams, deleted_body, filtered, get_owned, list_page, now, scoped
from api.routers.category_codes import approved_category
from api.routers.entities import get_entity
from api.schemas import Metadata, Strict, WorkLocation, merge_metadata
from common import representations as render
from common.ids import new_id
from db.models import Job, Quote

router = APIRouter(prefix="/jobs", tags=["jobs"])


class WageType(StrEnum):
    FLATFEE = "flatfee"
    HOURLY = "hourly"
    UNIT = "unit"
    BLENDED = "blended"


Wage = Annotated[int, Field(ge=100, le=2_000_000_000, description="Cents (at most $20,000,000)")]


class JobIn(Strict):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(min_length=1, max_length=5000)
    entity: str
    category_code: str | None = None
    wage: Wage
    wage_type: WageType
    years_experience: int | None = Field(None, ge=0, le=80)
    duration_hours: float | None = Field(None, gt=0, le=10_000)
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
    duration_hours: float | None = Field(None, gt=0, le=10_000)
    address: WorkLocation | None = None
    custom_metadata: Metadata | None = None
    withhold_premium: bool | None = None


# category_code is absent: a missing one is reported as missing_job_category_code by approved_category().
REQUIRED = ("name", "description", "entity", "wage", "wage_type")


def get_job(session: Session, tenant: Tenant, job_id: str) -> Job:
    return get_owned(session, Job, tenant, job_id, "invalid_job_id", "job")


def _apply(session: Session, tenant: Tenant, job: Job, changes: dict[str, Any]) -> None:
    for required in REQUIRED:
        if required in changes and changes[required] is None:
            raise invalid_input(f"{required}: cannot be removed")
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


@router.post("", status_code=201)
def create_job(body: JobIn, session: DbSession, tenant: CurrentTenant) -> dict[str, Any]:
    job = Job(
        id=new_id("job"),
        organization_id=tenant.organization_id,
        environment=tenant.environment,
        created=now(),
        custom_metadata={},
    )
    _apply(session, tenant, job, body.model_dump(mode="json"))
    session.add(job)
    session.commit()
    return render.job(job)


@router.get("")
def list_jobs(
    session: DbSession, tenant: CurrentTenant, page: PageParams, entity: str | None = None
) -> list[dict[str, Any]]:
    query = filtered(scoped(Job, tenant), {Job.entity_id: entity})
    return [render.job(j) for j in list_page(session, query, Job, page)]


@router.get("/{job_id}")
def retrieve_job(job_id: str, session: DbSession, tenant: CurrentTenant) -> dict[str, Any]:
    return render.job(get_job(session, tenant, job_id))


@router.put("/{job_id}")
def update_job(job_id: str, body: JobUpdate, session: DbSession, tenant: CurrentTenant) -> dict[str, Any]:
    job = get_job(session, tenant, job_id)
    _apply(session, tenant, job, body.model_dump(mode="json", exclude_unset=True))
    session.commit()
    return render.job(job)


@router.delete("/{job_id}")
def delete_job(job_id: str, session: DbSession, tenant: CurrentTenant) -> dict[str, Any]:
    job = get_job(session, tenant, job_id)
    if session.scalar(scoped(Quote, tenant).where(Quote.job_id == job.id).limit(1)) is not None:
        raise conflict("job_is_used", f"Job {job.id} has quotes and cannot be deleted")
    job.deleted_at = now()
    session.commit()
    return deleted_body(job, "job")
