"""Policies: bound coverage, with its certificates of insurance, and its events."""

from typing import Any

from pydantic import Field, model_validator
from sqlalchemy.orm import Session

from common.schemas import Strict, UnixTime
from common.settings import Settings
from db.models import Owner, Policy, Quote
from documents.issuing import document_store, issue_policy_certificates
from domain.errors import DomainError, conflict, invalid
from domain.statuses import PolicyStatus
from outbox.records import record_event
from services import representations as render
from services.lookups import get_policy, get_quote, now, scoped
from services.tenancy import Tenant


class PolicyIn(Strict):
    quote: str | None = None
    quote_id: str | None = Field(None, description="Older name of `quote`.")
    effective_date: UnixTime | None = None
    expiration_date: UnixTime | None = None
    is_active: bool = True

    @model_validator(mode="after")
    def _quote_given(self) -> "PolicyIn":
        self.quote = self.quote or self.quote_id
        if not self.quote:
            raise ValueError("quote: a quote id (qt_…) is required")
        return self


class PolicyUpdate(Strict):
    effective_date: UnixTime | None = None
    expiration_date: UnixTime | None = None
    is_active: bool | None = None


def new_policy(owner: Owner, quote: Quote, **fields: Any) -> Policy:
    """An active policy bound from ``quote``, for the quote's dates unless ``fields`` say otherwise."""
    values: dict[str, Any] = {
        "quote_id": quote.id,
        "contractor_id": quote.contractor_id,
        "job_id": quote.job_id,
        "status": PolicyStatus.ACTIVE,
        "effective_date": quote.effective_date,
        "expiration_date": quote.end_date,
        "certificates": {},
    }
    return Policy.new(owner, **(values | fields))


def announce(session: Session, policy: Policy, event_type: str, event_id: str | None = None) -> None:
    data = render.policy(policy)
    record_event(session, policy.organization_id, policy.environment, event_type, data, event_id)


def cover_through(session: Session, settings: Settings, policy: Policy, end: int) -> bool:
    """Coverage through ``end`` (an assignment on the policy was extended past its expiration): the policy
    expires then, and its certificates are issued again with the new dates (new documents, new URLs; the
    old ones stay served, as a record of what was issued). Returns whether anything changed."""
    if policy.expiration_date >= end:
        return False
    policy.expiration_date = end
    policy.pdf_url, policy.certificates = None, {}
    issue_policy_certificates(session, document_store(settings), settings, policy)
    return True


def refuse_bound_quote(session: Session, tenant: Tenant, quote: Quote) -> None:
    if not quote.eligible:
        raise DomainError(
            "invalid_quote_id", f"Quote {quote.id} is not eligible: {quote.eligibility_message}", "quote"
        )
    if session.scalar(scoped(Policy, tenant).where(Policy.quote_id == quote.id).limit(1)) is not None:
        raise conflict("policy_already_exists", f"A policy was already bound from quote {quote.id}")


def _check_period(effective: int, expiration: int) -> None:
    if expiration <= effective:
        raise invalid("expiration_date: must be after effective_date", "expiration_date", "end_date_invalid")


def create_policy(session: Session, tenant: Tenant, body: PolicyIn, settings: Settings) -> Policy:
    assert body.quote
    quote = get_quote(session, tenant, body.quote)
    refuse_bound_quote(session, tenant, quote)
    policy = new_policy(
        tenant, quote, status=PolicyStatus.ACTIVE if body.is_active else PolicyStatus.CANCELLED
    )
    policy.cancelled_at = None if body.is_active else policy.created
    policy.effective_date = body.effective_date or quote.effective_date
    policy.expiration_date = body.expiration_date or quote.end_date
    _check_period(policy.effective_date, policy.expiration_date)
    session.add(policy)
    if policy.status == PolicyStatus.ACTIVE:
        issue_policy_certificates(session, document_store(settings), settings, policy)
        announce(session, policy, "policy.active")
    session.commit()
    return policy


def update_policy(
    session: Session, tenant: Tenant, policy_id: str, body: PolicyUpdate, settings: Settings
) -> Policy:
    policy = get_policy(session, tenant, policy_id)
    changes = body.model_dump(exclude_unset=True)
    if any(value is None for value in changes.values()):
        raise invalid("; ".join(f"{k}: cannot be null" for k, v in changes.items() if v is None))
    policy.effective_date = changes.get("effective_date", policy.effective_date)
    policy.expiration_date = changes.get("expiration_date", policy.expiration_date)
    _check_period(policy.effective_date, policy.expiration_date)
    if "is_active" in changes:
        if changes["is_active"] and policy.status != PolicyStatus.ACTIVE:
            policy.status, policy.cancelled_at = PolicyStatus.ACTIVE, None
            issue_policy_certificates(session, document_store(settings), settings, policy)
            announce(session, policy, "policy.reactivated")
        elif not changes["is_active"] and policy.status == PolicyStatus.ACTIVE:
            cancel(session, policy)
    session.commit()
    return policy


def cancel(session: Session, policy: Policy) -> None:
    policy.status, policy.cancelled_at = PolicyStatus.CANCELLED, now()
    announce(session, policy, "policy.cancelled")


def cancel_contractor_policies(session: Session, tenant: Tenant, contractor_id: str) -> None:
    for policy in session.scalars(
        scoped(Policy, tenant).where(
            Policy.contractor_id == contractor_id, Policy.status == PolicyStatus.ACTIVE
        )
    ):
        cancel(session, policy)


def delete_policy(session: Session, tenant: Tenant, policy_id: str) -> Policy:
    """Cancels the coverage and removes the policy."""
    policy = get_policy(session, tenant, policy_id)
    if policy.status == PolicyStatus.ACTIVE:
        cancel(session, policy)
    policy.deleted_at = now()
    session.commit()
    return policy
