from typing import Any

from fastapi import APIRouter

from api.deps import CurrentTenant, DbSession, Workflows
from api.paging import PageParams, deleted_body
from services import jobs, lookups
from services import representations as render
from services.jobs import JobIn, JobUpdate
from services.lookups import get_job

router = APIRouter(prefix="/jobs", tags=["jobs"])


@router.post("", status_code=201)
def create_job(body: JobIn, session: DbSession, tenant: CurrentTenant) -> dict[str, Any]:
    return render.job(jobs.create_job(session, tenant, body))


@router.get("")
def list_jobs(
    session: DbSession, tenant: CurrentTenant, page: PageParams, entity: str | None = None
) -> list[dict[str, Any]]:
    return [render.job(j) for j in lookups.list_jobs(session, tenant, page, entity)]


@router.get("/{job_id}")
def retrieve_job(job_id: str, session: DbSession, tenant: CurrentTenant) -> dict[str, Any]:
    return render.job(get_job(session, tenant, job_id))


@router.put("/{job_id}")
def update_job(
    job_id: str, body: JobUpdate, workflows: Workflows, session: DbSession, tenant: CurrentTenant
) -> dict[str, Any]:
    """A new wage (or wage type, or hours) reprices the estimate of the job's engagements that have no final
    pay reported yet, the way an invoice would."""
    return render.job(jobs.update_job(session, tenant, job_id, body, workflows))


@router.delete("/{job_id}")
def delete_job(job_id: str, session: DbSession, tenant: CurrentTenant) -> dict[str, Any]:
    return deleted_body(jobs.delete_job(session, tenant, job_id), "job")
