from typing import Any

from fastapi import APIRouter
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import CurrentTenant, DbSession, Tenant
from api.errors import ApiError, not_found
from common import representations as render
from db.models import CategoryApproval, JobCategory

router = APIRouter(prefix="/category_codes", tags=["job categories"])


def approved_category(session: Session, tenant: Tenant, category_id: str | None) -> JobCategory:
    """The job category a job may use: it must exist and be approved for the caller's organization."""
    if not category_id:
        raise ApiError(
            400, "missing_job_category_code", "category_code: a job category code (jc_…) is required"
        )
    category = session.get(JobCategory, category_id)
    if category is None:
        raise ApiError(404, "invalid_job_category_code", f"No such job category code: '{category_id}'")
    if session.get(CategoryApproval, (tenant.organization_id, category.id)) is None:
        raise ApiError(
            400,
            "job_category_not_approved",
            f"Job category {category.id} ({category.name}) is not approved for your organization",
        )
    return category


@router.get("")
def list_category_codes(session: DbSession, tenant: CurrentTenant) -> list[dict[str, Any]]:
    """Every job category approved for the caller's organization (the whole list; it is short)."""
    query = (
        select(JobCategory)
        .join(CategoryApproval, CategoryApproval.category_id == JobCategory.id)
        .where(CategoryApproval.organization_id == tenant.organization_id)
        .order_by(JobCategory.name)
    )
    return [render.job_category(c, approved=True) for c in session.scalars(query)]


@router.get("/{category_id}")
def retrieve_category_code(category_id: str, session: DbSession, tenant: CurrentTenant) -> dict[str, Any]:
    category = session.get(JobCategory, category_id)
    if category is None:
        raise not_found("invalid_job_category_code", "job category code", category_id)
    approved = session.get(CategoryApproval, (tenant.organization_id, category.id)) is not None
    return render.job_category(category, approved=approved)
