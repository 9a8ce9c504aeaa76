"""Job categories: which ones an organization may use, and approving more."""

import time
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import CategoryApproval, JobCategory, Organization
from domain.api_keys import PRODUCTION, SANDBOX
from domain.errors import DomainError, Refusal, invalid, not_found
from outbox.records import record_event
from services import representations as render
from services.tenancy import Tenant


def approve(session: Session, organization_id: str, categories: list[str]) -> list[str]:
    query = select(JobCategory)
    if categories != ["*"]:
        query = query.where((JobCategory.id.in_(categories)) | (JobCategory.code.in_(categories)))
    found = list(session.scalars(query))
    now = int(time.time())
    for category in found:
        if session.get(CategoryApproval, (organization_id, category.id)) is None:
            session.add(
                CategoryApproval(organization_id=organization_id, category_id=category.id, approved_at=now)
            )
    session.flush()
    return [c.id for c in found]


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
            category_name=category.name,
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


def approve_categories(session: Session, organization_id: str, categories: list[str]) -> list[str]:
    """Approve job categories (ids or codes; ``["*"]``: the whole catalog) for an organization, with
    ``category_code.added`` in each of its environments for every category it did not have yet (``data``: the
    category as ``GET /category_codes`` shows it). Returns the ids matched; the caller commits."""
    if session.get(Organization, organization_id) is None:
        raise not_found("invalid_organization_id", "organization", organization_id)
    had = set(
        session.scalars(
            select(CategoryApproval.category_id).where(CategoryApproval.organization_id == organization_id)
        )
    )
    matched = approve(session, organization_id, categories)
    added = select(JobCategory).where(JobCategory.id.in_(set(matched) - had)).order_by(JobCategory.name)
    for category in session.scalars(added):
        for environment in (SANDBOX, PRODUCTION):
            data = render.job_category(category, approved=True)
            record_event(session, organization_id, environment, "category_code.added", data)
    return matched
