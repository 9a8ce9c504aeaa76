from typing import Any

from fastapi import APIRouter, Request
from pydantic import Field, model_validator
from sqlalchemy.orm import Session

from api.deps import CurrentTenant, DbSession, Tenant
from api.errors import ApiError, conflict, invalid_input
from api.event_log import record_event
from api.queries import PageParams, deleted_body, filtered, get_owned, list_page, now, scoped
from api.routers.quotes import get_quote
from api.schemas import Strict, UnixTime
from common import representations as render
from common.ids import new_id
from db.models import Policy
from documents.issuing import document_store, issue_policy_certificates

router = APIRouter(prefix="/policies", tags=["policies"])


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


def get_policy(session: Session, tenant: Tenant, policy_id: str) -> Policy:
    return get_owned(session, Policy, tenant, policy_id, "invalid_policy_id", "policy")


def _check_period(effective: int, expiration: int) -> None:
    if expiration <= effective:
        raise ApiError(400, "end_date_invalid", "expiration_date: must be after effective_date")


@router.post("", status_code=201)
def create_policy(
    body: PolicyIn, request: Request, session: DbSession, tenant: CurrentTenant
) -> dict[str, Any]:
    assert body.quote
    quote = get_quote(session, tenant, body.quote)
    if not quote.eligible:
        raise ApiError(
            400, "invalid_quote_id", f"Quote {quote.id} is not eligible: {quote.eligibility_message}"
        )
    if session.scalar(scoped(Policy, tenant).where(Policy.quote_id == quote.id).limit(1)) is not None:
        raise conflict("policy_already_exists", f"A policy was already bound from quote {quote.id}")
    moment = now()
    policy = Policy(
        id=new_id("policy"),
        organization_id=tenant.organization_id,
        environment=tenant.environment,
        created=moment,
        quote_id=quote.id,
        contractor_id=quote.contractor_id,
        job_id=quote.job_id,
        status="active" if body.is_active else "cancelled",
        cancelled_at=None if body.is_active else moment,
        effective_date=body.effective_date or quote.effective_date,
        expiration_date=body.expiration_date or quote.end_date,
        certificates={},
    )
    _check_period(policy.effective_date, policy.expiration_date)
    session.add(policy)
    if policy.status == "active":
        settings = request.app.state.settings
        issue_policy_certificates(session, document_store(settings), settings, policy)
        record_event(session, tenant, "policy.active", render.policy(policy))
    session.commit()
    return render.policy(policy)


@router.get("")
def list_policies(
    session: DbSession,
    tenant: CurrentTenant,
    page: PageParams,
    quote: str | None = None,
    contractor: str | None = None,
) -> list[dict[str, Any]]:
    query = filtered(scoped(Policy, tenant), {Policy.quote_id: quote, Policy.contractor_id: contractor})
    return [render.policy(p) for p in list_page(session, query, Policy, page)]


@router.get("/{policy_id}")
def retrieve_policy(policy_id: str, session: DbSession, tenant: CurrentTenant) -> dict[str, Any]:
    return render.policy(get_policy(session, tenant, policy_id))


@router.put("/{policy_id}")
def update_policy(
    policy_id: str, body: PolicyUpdate, request: Request, session: DbSession, tenant: CurrentTenant
) -> dict[str, Any]:
    policy = get_policy(session, tenant, policy_id)
    changes = body.model_dump(exclude_unset=True)
    if any(value is None for value in changes.values()):
        raise invalid_input("; ".join(f"{k}: cannot be null" for k, v in changes.items() if v is None))
    policy.effective_date = changes.get("effective_date", policy.effective_date)
    policy.expiration_date = changes.get("expiration_date", policy.expiration_date)
    _check_period(policy.effective_date, policy.expiration_date)
    if "is_active" in changes:
        if changes["is_active"] and policy.status != "active":
            policy.status, policy.cancelled_at = "active", None
            settings = request.app.state.settings
            issue_policy_certificates(session, document_store(settings), settings, policy)
            record_event(session, tenant, "policy.reactivated", render.policy(policy))
        elif not changes["is_active"] and policy.status == "active":
            policy.status, policy.cancelled_at = "cancelled", now()
            record_event(session, tenant, "policy.cancelled", render.policy(policy))
    session.commit()
    return render.policy(policy)


@router.delete("/{policy_id}")
def delete_policy(policy_id: str, session: DbSession, tenant: CurrentTenant) -> dict[str, Any]:
    """Cancels the coverage and removes the policy."""
    policy = get_policy(session, tenant, policy_id)
    moment = now()
    if policy.status == "active":
        policy.status, policy.cancelled_at = "cancelled", moment
        record_event(session, tenant, "policy.cancelled", render.policy(policy))
    policy.deleted_at = moment
    session.commit()
    return deleted_body(policy, "policy")
