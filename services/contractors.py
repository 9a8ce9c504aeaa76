"""Contractors: the people a platform insures."""

from collections.abc import Iterable
from typing import Annotated

from pydantic import EmailStr, Field
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from common.schemas import Address, Metadata, Strict, merge_metadata
from db.models import Contractor
from domain.errors import DomainError, invalid
from services.lookups import get_contractor, now, scoped
from services.policies import cancel_contractor_policies
from services.tenancy import Tenant

Name = Annotated[str, Field(min_length=1, max_length=100)]
Phone = Annotated[str, Field(min_length=7, max_length=40, pattern=r"^\+?[0-9 ().\-]{7,40}$")]
TaxId = Annotated[str, Field(pattern=r"^\d{2}-?\d{7}$|^\d{3}-?\d{2}-?\d{4}$", description="EIN or SSN")]
REQUIRED = ("first_name", "last_name", "email", "phone", "address")


class ContractorIn(Strict):
    first_name: Name
    last_name: Name
    email: EmailStr
    phone: Phone
    address: Address
    middle_name: str | None = Field(None, max_length=100)
    company_name: str | None = Field(None, max_length=200)
    tax_identification: TaxId | None = None
    custom_metadata: Metadata = Field(default_factory=dict)
    withhold_premium: bool | None = None


class ContractorUpdate(Strict):
    first_name: Name | None = None
    last_name: Name | None = None
    email: EmailStr | None = None
    phone: Phone | None = None
    address: Address | None = None
    middle_name: str | None = Field(None, max_length=100)
    company_name: str | None = Field(None, max_length=200)
    tax_identification: TaxId | None = None
    custom_metadata: Metadata | None = None
    withhold_premium: bool | None = None


def duplicate_email(email: str) -> DomainError:
    return invalid(f"A contractor with email '{email}' already exists", "email", "duplicate_email")


def contractor_with_email(session: Session, tenant: Tenant, email: str) -> Contractor | None:
    """The tenant's contractor this email names (compared without regard to case), if any."""
    query = scoped(Contractor, tenant).where(func.lower(Contractor.email) == email.lower())
    return session.scalar(query.limit(1))


def refuse_duplicate_email(session: Session, tenant: Tenant, email: str, except_id: str | None) -> None:
    """A contractor's email names them within the tenant, compared without regard to case."""
    query = scoped(Contractor, tenant).where(func.lower(Contractor.email) == email.lower())
    if except_id:
        query = query.where(Contractor.id != except_id)
    if session.scalar(query.limit(1)) is not None:
        raise duplicate_email(email)


def existing_emails(session: Session, tenant: Tenant, emails: Iterable[str], chunk: int = 500) -> set[str]:
    """Which of ``emails`` already name a contractor of the tenant (lowercased), by the same comparison as
    refuse_duplicate_email, asked in chunks (a CSV preview checks thousands at once)."""
    wanted = sorted({e.lower() for e in emails})
    found: set[str] = set()
    for start in range(0, len(wanted), chunk):
        part = wanted[start : start + chunk]
        query = scoped(Contractor, tenant).where(func.lower(Contractor.email).in_(part))
        found.update(e.lower() for e in session.scalars(query.with_only_columns(Contractor.email)))
    return found


def add_contractor(session: Session, tenant: Tenant, body: ContractorIn) -> Contractor:
    """A new contractor in the session, not committed (the caller commits, alone or with others)."""
    refuse_duplicate_email(session, tenant, body.email, None)
    fields = body.model_dump(mode="json")
    fields["custom_metadata"] = merge_metadata({}, fields["custom_metadata"])
    contractor = Contractor.new(tenant, **fields)
    session.add(contractor)
    return contractor


def email_taken(error: IntegrityError) -> bool:
    """Whether the database refused a write for the unique email index (a race another request won)."""
    return "email_key" in str(error.orig)


def commit_contractor(session: Session, email: str) -> None:
    """Commit; when another request committed a contractor with this email first (both passed the check
    above, the index refused the second), the same refusal as the check's."""
    try:
        session.commit()
    except IntegrityError as error:
        session.rollback()
        if email_taken(error):
            raise duplicate_email(email) from None
        raise


def create_contractor(session: Session, tenant: Tenant, body: ContractorIn) -> Contractor:
    contractor = add_contractor(session, tenant, body)
    commit_contractor(session, body.email)
    return contractor


def update_contractor(
    session: Session, tenant: Tenant, contractor_id: str, body: ContractorUpdate
) -> Contractor:
    contractor = get_contractor(session, tenant, contractor_id)
    changes = body.model_dump(mode="json", exclude_unset=True)
    for required in REQUIRED:
        if required in changes and changes[required] is None:
            raise invalid(f"{required}: cannot be removed", required)
    if "email" in changes:
        refuse_duplicate_email(session, tenant, changes["email"], contractor.id)
    if "custom_metadata" in changes:
        changes["custom_metadata"] = merge_metadata(
            contractor.custom_metadata or {}, changes["custom_metadata"] or {}
        )
    for field, value in changes.items():
        setattr(contractor, field, value)
    commit_contractor(session, contractor.email)
    return contractor


def delete_contractor(session: Session, tenant: Tenant, contractor_id: str) -> Contractor:
    """Deleting a contractor also cancels their active policies (each with a ``policy.cancelled`` event)."""
    contractor = get_contractor(session, tenant, contractor_id)
    cancel_contractor_policies(session, tenant, contractor.id)
    contractor.deleted_at = now()
    session.commit()
    return contractor
