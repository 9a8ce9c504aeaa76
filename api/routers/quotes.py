from typing import Any

from fastapi import APIRouter
from pydantic import Field, field_validator, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import CurrentTenant, DbSession, Tenant
from api.errors import ApiError, conflict, invalid_input
from api.queries import PageParams, filtered, get_owned, list_page, now, scoped
from api.routers.contractors import get_contractor
from api.routers.jobs import get_job
from api.schemas import Strict, UnixTime
from common import representations as render
from common.ids import new_id
from db.catalog import rate_card
from db.models import Contractor, Job, JobCategory, Policy, Quote
from domain.coverage import CoverageType
from domain.dates import CoverageDateError, coverage_period
from domain.premium import estimated_gross_pay, premium_cents
from domain.rating import rate_quote

router = APIRouter(prefix="/quotes", tags=["quotes"])


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


class QuoteIn(Strict):
    contractor: str | None = None
    job: str | None = None
    contractor_id: str | None = Field(None, description="Older name of `contractor`.")
    job_id: str | None = Field(None, description="Older name of `job`.")
    coverage_type: list[CoverageType] = Field(min_length=1)
    effective_date: UnixTime | None = None
    end_date: UnixTime | None = None

    _coverage_list = field_validator("coverage_type", mode="before")(_as_list)

    @model_validator(mode="after")
    def _references(self) -> "QuoteIn":
        self.contractor = self.contractor or self.contractor_id
        self.job = self.job or self.job_id
        if not self.contractor:
            raise ValueError("contractor: a contractor id (cn_…) is required")
        if not self.job:
            raise ValueError("job: a job id (jb_…) is required")
        return self


class QuoteUpdate(Strict):
    coverage_type: list[CoverageType] | None = Field(None, min_length=1)
    effective_date: UnixTime | None = None
    end_date: UnixTime | None = None

    _coverage_list = field_validator("coverage_type", mode="before")(_as_list)


def get_quote(session: Session, tenant: Tenant, quote_id: str) -> Quote:
    return get_owned(session, Quote, tenant, quote_id, "invalid_quote_id", "quote")


def work_state_of(job: Job, contractor: Contractor) -> str:
    """Where the work happens: the job's location, else (remote work) where the contractor lives."""
    return (job.address or {}).get("region") or contractor.address["region"]


def _refuse_matching_policy(
    session: Session,
    tenant: Tenant,
    contractor: Contractor,
    job: Job,
    work_state: str,
    coverage: list[str],
    start: int,
    end: int,
) -> None:
    query = (
        select(Policy.id, Quote.coverage_type)
        .join(Quote, Quote.id == Policy.quote_id)
        .join(Job, Job.id == Quote.job_id)
        .where(
            Policy.organization_id == tenant.organization_id,
            Policy.environment == tenant.environment,
            Policy.deleted_at.is_(None),
            Policy.status == "active",
            Policy.contractor_id == contractor.id,
            Job.category_id == job.category_id,
            Quote.work_state == work_state,
            Policy.effective_date < end,
            Policy.expiration_date > start,
        )
    )
    for policy_id, covered in session.execute(query):
        if set(coverage) <= set(covered):
            raise ApiError(
                400,
                "contractor_has_matching_policy",
                f"The contractor already has a matching policy on file ({policy_id})",
            )


def rate_quote_into(
    session: Session,
    tenant: Tenant,
    quote: Quote,
    effective: int | None,
    end: int | None,
    coverage: list[CoverageType],
) -> None:
    contractor = get_contractor(session, tenant, quote.contractor_id)
    job = get_job(session, tenant, quote.job_id)
    try:
        period = coverage_period(now(), effective, end)
    except CoverageDateError as error:
        code = "effective_date_invalid" if error.field == "effective_date" else "end_date_invalid"
        raise ApiError(400, code, f"{error.field}: {error}") from None
    work_state = work_state_of(job, contractor)
    coverage = sorted(set(coverage), key=lambda c: c.value)
    _refuse_matching_policy(
        session,
        tenant,
        contractor,
        job,
        work_state,
        [c.value for c in coverage],
        period.effective_date,
        period.end_date,
    )
    category = session.get(JobCategory, job.category_id)
    assert category is not None
    rating = rate_quote(
        rate_card(session, category.id),
        category.name,
        coverage,
        work_state=work_state,
        residence_state=contractor.address["region"],
    )
    gross = estimated_gross_pay(job.wage, job.wage_type, job.duration_hours)
    quote.coverage_type = [c.value for c in coverage]
    quote.effective_date, quote.end_date = period.effective_date, period.end_date
    quote.work_state, quote.residence_state = work_state, contractor.address["region"]
    quote.eligible, quote.eligibility_message = rating.eligible, rating.message
    quote.net_rate, quote.gl_net_rate = rating.rates.net_rate, rating.rates.gl_net_rate
    quote.wc_net_rate, quote.pl_net_rate = rating.rates.wc_net_rate, rating.rates.pl_net_rate
    quote.quote_json = rating.rates.as_quote_json()
    quote.estimated_gross_pay = gross
    quote.premium_due = premium_cents(gross, rating.rates.net_rate)


@router.post("", status_code=201)
def create_quote(body: QuoteIn, session: DbSession, tenant: CurrentTenant) -> dict[str, Any]:
    assert body.contractor and body.job
    contractor = get_contractor(session, tenant, body.contractor)
    job = get_job(session, tenant, body.job)
    quote = Quote(
        id=new_id("quote"),
        organization_id=tenant.organization_id,
        environment=tenant.environment,
        created=now(),
        contractor_id=contractor.id,
        job_id=job.id,
    )
    rate_quote_into(session, tenant, quote, body.effective_date, body.end_date, body.coverage_type)
    session.add(quote)
    session.commit()
    return render.quote(quote)


@router.get("")
def list_quotes(
    session: DbSession,
    tenant: CurrentTenant,
    page: PageParams,
    contractor: str | None = None,
    job: str | None = None,
) -> list[dict[str, Any]]:
    query = filtered(scoped(Quote, tenant), {Quote.contractor_id: contractor, Quote.job_id: job})
    return [render.quote(q) for q in list_page(session, query, Quote, page)]


@router.get("/{quote_id}")
def retrieve_quote(quote_id: str, session: DbSession, tenant: CurrentTenant) -> dict[str, Any]:
    return render.quote(get_quote(session, tenant, quote_id))


@router.put("/{quote_id}")
def update_quote(
    quote_id: str, body: QuoteUpdate, session: DbSession, tenant: CurrentTenant
) -> dict[str, Any]:
    """Re-rates the quote. A quote that a policy was bound from is final: create a new quote instead."""
    quote = get_quote(session, tenant, quote_id)
    if session.scalar(scoped(Policy, tenant).where(Policy.quote_id == quote.id).limit(1)) is not None:
        raise conflict(
            "cant_update_create_new_quote", f"Quote {quote.id} is bound to a policy; create a new quote"
        )
    changes = body.model_dump(exclude_unset=True)
    if "coverage_type" in changes and changes["coverage_type"] is None:
        raise invalid_input("coverage_type: cannot be removed")
    coverage = (
        body.coverage_type if "coverage_type" in changes else [CoverageType(c) for c in quote.coverage_type]
    )
    effective = changes.get("effective_date", quote.effective_date)
    end = changes.get("end_date", None if "effective_date" in changes else quote.end_date)
    rate_quote_into(session, tenant, quote, effective, end, coverage)
    session.commit()
    return render.quote(quote)
