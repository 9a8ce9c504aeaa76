"""Job categories: which ones an organization may use."""

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import CategoryApproval, JobCategory
from domain.errors import DomainError, Refusal, invalid, not_found
from services.tenancy import Tenant


def is_approved(session: Session, tenant: Tenant, category_id: str) -> bool:
    return session.get(CategoryApproval, (tenant.organization_id, category_id)) is not None


def approved_category(session: Session, tenant: Tenant, category_id: str | None) -> JobCategory:
    """The job category a job may use: it must exist and be approved for the caller's organization."""
    if not category_id:
        raise invalid(
            "category_code: a job category code (jc_…) is required",
            "category_code",
            "missing_job_category_code",
        )
    category = session.get(JobCategory, category_id)
    if category is None:
        raise DomainError(
            "invalid_job_category_code",
            f"No such job category code: '{category_id}'",
            "category_code",
            Refusal.NOT_FOUND,
        )
    if not is_approved(session, tenant, category.id):
        raise invalid(
            f"Job category {category.id} ({category.name}) is not approved for your organization",
            "category_code",
            "job_category_not_approved",
        )
    return category


def approved_categories(session: Session, tenant: Tenant) -> Sequence[JobCategory]:
    query = (
        select(JobCategory)
        .join(CategoryApproval, CategoryApproval.category_id == JobCategory.id)
        .where(CategoryApproval.organization_id == tenant.organization_id)
        .order_by(JobCategory.name)
    )
    return session.scalars(query).all()


def category(session: Session, category_id: str) -> JobCategory:
    found = session.get(JobCategory, category_id)
    if found is None:
        raise not_found("invalid_job_category_code", "job category code", category_id)
    return found
