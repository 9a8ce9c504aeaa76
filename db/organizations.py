"""Organizations and their API keys."""

import hashlib
import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from common.ids import new_id, random_base62
from db.models import ApiKey, CategoryApproval, CreatorIQConnection, JobCategory, Organization

SANDBOX, PRODUCTION = "sandbox", "production"
KEY_PREFIXES = {SANDBOX: "t9k_test_", PRODUCTION: "t9k_live_"}


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def key_hint(key: str) -> str:
    return f"{key[:9]}…{key[-4:]}"


@dataclass(frozen=True)
class NewOrganization:
    organization: Organization
    sandbox_key: str
    production_key: str


def new_key(organization_id: str, environment: str, name: str = "") -> tuple[ApiKey, str]:
    """A new API key's row (not yet added) and the key itself, which is stored only as its hash."""
    key = KEY_PREFIXES[environment] + random_base62(32)
    row = ApiKey(
        public_id=new_id("api_key"),
        organization_id=organization_id,
        environment=environment,
        name=name,
        key_hash=hash_key(key),
        key_hint=key_hint(key),
        created=int(time.time()),
    )
    return row, key


def issue_key(session: Session, organization_id: str, environment: str, name: str = "") -> str:
    row, key = new_key(organization_id, environment, name)
    session.add(row)
    return key


def create_organization(
    session: Session,
    name: str,
    *,
    withhold_premium: bool = False,
    billing_contact_name: str | None = None,
    billing_contact_email: str | None = None,
    approve_categories: list[str] | None = None,
) -> NewOrganization:
    """Create an organization with one sandbox and one production key.

    ``approve_categories`` takes category ids or codes; ``["*"]`` approves the whole catalog.
    """
    now = int(time.time())
    org = Organization(
        id=new_id("organization"),
        name=name,
        withhold_premium=withhold_premium,
        sandbox_withhold_premium=withhold_premium,
        billing_contact_name=billing_contact_name,
        billing_contact_email=billing_contact_email,
        created=now,
    )
    session.add(org)
    session.flush()
    approve(session, org.id, approve_categories or [])
    sandbox = issue_key(session, org.id, SANDBOX, "Default sandbox key")
    production = issue_key(session, org.id, PRODUCTION, "Default production key")
    session.commit()
    return NewOrganization(org, sandbox, production)


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


def connection_of(session: Session, organization_id: str, environment: str) -> CreatorIQConnection | None:
    return session.scalar(
        select(CreatorIQConnection).where(
            CreatorIQConnection.organization_id == organization_id,
            CreatorIQConnection.environment == environment,
            CreatorIQConnection.deleted_at.is_(None),
        )
    )
