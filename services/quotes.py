"""Quotes: a contractor's job rated for the coverage asked for (eligibility, rates, the premium due)."""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import Field, field_validator, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from common.schemas import Strict, UnixTime
from db.catalog import rate_card
from db.models import Contractor, Job, JobCategory, Owner, Policy, Quote
from domain.coverage import CoverageType, work_state
from domain.dates import CoveragePeriod, coverage_period
from domain.errors import conflict, invalid
from domain.limits import check_estimated_pay, check_premium
from domain.premium import estimated_gross_pay, premium_cents
from domain.rating import Rating, rate_quote
from domain.state_funds import state_fund_refusal
from domain.statuses import PolicyStatus
from services.lookups import get_contractor, get_job, get_quote, now, scoped
from services.tenancy import Tenant


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


def coverage_list(coverage: Iterable[CoverageType | str]) -> list[CoverageType]:
    """Each coverage type once, in a stable order."""
    return sorted({CoverageType(c) for c in coverage}, key=lambda c: c.value)


def category_rating(
    session: Session,
    category: JobCategory,
    coverage: list[CoverageType],
    work_state: str,
    residence_state: str,
) -> Rating:
    """The rates for work of ``category`` in ``work_state`` by a contractor living in ``residence_state``."""
    return rate_quote(
        rate_card(session, category.id),
        category.name,
        coverage,
        work_state=work_state,
        residence_state=residence_state,
    )


def rating_of(session: Session, contractor: Contractor, job: Job, coverage: list[CoverageType]) -> Rating:
    category = session.get(JobCategory, job.category_id)
    assert category is not None
    return category_rating(
        session, category, coverage, work_state(job.address, contractor.address), contractor.address["region"]
    )


@dataclass(frozen=True)
class Priced:
    """What a job's pay comes to, and its premium at the rating's rates (both in cents)."""

    estimated_gross_pay: int
    premium_due: int


def priced(rating: Rating, wage: int, wage_type: str, duration_hours: float | None) -> Priced:
    """The premium a quote states for a job paying ``wage`` (refused when the pay or the premium is more than
    one job may come to)."""
    gross = check_estimated_pay(estimated_gross_pay(wage, wage_type, duration_hours))
    return Priced(gross, check_premium(premium_cents(gross, rating.rates.net_rate)))


def fill(
    quote: Quote,
    contractor: Contractor,
    job: Job,
    period: CoveragePeriod,
    coverage: list[CoverageType],
    rating: Rating,
) -> None:
    """The quote's terms and its rating fields."""
    price = priced(rating, job.wage, job.wage_type, job.duration_hours)
    quote.coverage_type = [c.value for c in coverage]
    quote.effective_date, quote.end_date = period.effective_date, period.end_date
    quote.work_state = work_state(job.address, contractor.address)
    quote.residence_state = contractor.address["region"]
    quote.eligible, quote.eligibility_message = rating.eligible, rating.message
    quote.net_rate, quote.gl_net_rate = rating.rates.net_rate, rating.rates.gl_net_rate
    quote.wc_net_rate, quote.pl_net_rate = rating.rates.wc_net_rate, rating.rates.pl_net_rate
    quote.quote_json = rating.rates.as_quote_json()
    quote.estimated_gross_pay, quote.premium_due = price.estimated_gross_pay, price.premium_due


def new_quote(
    session: Session,
    owner: Owner,
    contractor: Contractor,
    job: Job,
    period: CoveragePeriod,
    coverage: Iterable[CoverageType | str],
    rating: Rating | None = None,
) -> Quote:
    """A rated quote (not added to the session) for dates already checked."""
    wanted = coverage_list(coverage)
    quote = Quote.new(owner, contractor_id=contractor.id, job_id=job.id)
    fill(quote, contractor, job, period, wanted, rating or rating_of(session, contractor, job, wanted))
    return quote


def refuse_matching_policy(
    session: Session,
    tenant: Tenant,
    contractor: Contractor,
    job: Job,
    coverage: list[CoverageType],
    period: CoveragePeriod,
) -> None:
    """A contractor already covered for this kind of work at these dates needs no second policy."""
    query = (
        select(Policy.id, Quote.coverage_type)
        .join(Quote, Quote.id == Policy.quote_id)
        .join(Job, Job.id == Quote.job_id)
        .where(
            Policy.organization_id == tenant.organization_id,
            Policy.environment == tenant.environment,
            Policy.deleted_at.is_(None),
            Policy.status == PolicyStatus.ACTIVE,
            Policy.contractor_id == contractor.id,
            Job.category_id == job.category_id,
            Quote.work_state == work_state(job.address, contractor.address),
            Policy.effective_date < period.end_date,
            Policy.expiration_date > period.effective_date,
        )
    )
    for policy_id, covered in session.execute(query):
        if {c.value for c in coverage} <= set(covered):
            raise invalid(
                f"The contractor already has a matching policy on file ({policy_id})",
                code="contractor_has_matching_policy",
            )


def refuse_state_fund_coverage(contractor: Contractor, job: Job, coverage: Iterable[CoverageType]) -> None:
    """Workers' comp for work in a monopolistic state (ND, OH, WA, WY) is the state fund's: a clear 400."""
    refusal = state_fund_refusal(coverage, work_state(job.address, contractor.address))
    if refusal is not None:
        raise invalid(refusal, "coverage_type", code="invalid_input")


def offer(
    session: Session,
    tenant: Tenant,
    contractor: Contractor,
    job: Job,
    effective: int | None,
    end: int | None,
    coverage: Iterable[CoverageType | str],
    rating: Rating | None = None,
) -> Quote:
    """A new quote (not added) for the dates asked for; refused when a matching policy covers them."""
    period = coverage_period(now(), effective, end)
    wanted = coverage_list(coverage)
    refuse_state_fund_coverage(contractor, job, wanted)
    refuse_matching_policy(session, tenant, contractor, job, wanted, period)
    return new_quote(session, tenant, contractor, job, period, wanted, rating)


def create_quote(session: Session, tenant: Tenant, body: QuoteIn) -> Quote:
    assert body.contractor and body.job
    contractor = get_contractor(session, tenant, body.contractor)
    job = get_job(session, tenant, body.job)
    quote = offer(session, tenant, contractor, job, body.effective_date, body.end_date, body.coverage_type)
    session.add(quote)
    session.commit()
    return quote


def update_quote(session: Session, tenant: Tenant, quote_id: str, body: QuoteUpdate) -> Quote:
    """Re-rates the quote. A quote that a policy was bound from is final: create a new quote instead."""
    quote = get_quote(session, tenant, quote_id)
    if session.scalar(scoped(Policy, tenant).where(Policy.quote_id == quote.id).limit(1)) is not None:
        raise conflict(
            "cant_update_create_new_quote", f"Quote {quote.id} is bound to a policy; create a new quote"
        )
    changes = body.model_dump(exclude_unset=True)
    if "coverage_type" not in changes:
        coverage = coverage_list(quote.coverage_type)
    elif body.coverage_type is None:
        raise invalid("coverage_type: cannot be removed", "coverage_type")
    else:
        coverage = coverage_list(body.coverage_type)
    effective = changes.get("effective_date", quote.effective_date)
    end = changes.get("end_date", None if "effective_date" in changes else quote.end_date)
    contractor = get_contractor(session, tenant, quote.contractor_id)
    job = get_job(session, tenant, quote.job_id)
    period = coverage_period(now(), effective, end)
    refuse_state_fund_coverage(contractor, job, coverage)
    refuse_matching_policy(session, tenant, contractor, job, coverage, period)
    fill(quote, contractor, job, period, coverage, rating_of(session, contractor, job, coverage))
    session.commit()
    return quote
