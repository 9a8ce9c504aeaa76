"""The job codes an organization may use, with their rates in each state (the rate catalog that quotes are
rated from), narrowed by a state and by words in a code, name or description."""

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import CategoryRate
from domain.coverage import CoverageType
from domain.geography import US_STATES
from domain.state_funds import STATE_FUNDS
from services.catalog import approved_categories
from services.tenancy import Tenant


@dataclass(frozen=True)
class Rate:
    """Cents of premium per $100 of pay; for general liability, with the fees it carries included."""

    total: int
    fees: int = 0


@dataclass
class StateRates:
    state: str
    name: str
    rates: dict[CoverageType, Rate] = field(default_factory=dict)

    @property
    def state_fund(self) -> bool:
        """Workers' comp there is the state fund's, never ours."""
        return self.state in STATE_FUNDS


@dataclass(frozen=True)
class JobCode:
    code: str
    name: str
    description: str
    states: list[StateRates]


def job_codes(session: Session, tenant: Tenant, state: str = "", words: str = "") -> list[JobCode]:
    """The organization's approved job codes (by name) matching ``words`` (in the code, name or
    description; any case), each with its rates in every state, or in ``state`` alone when given."""
    wanted = words.strip().casefold()
    categories = [
        c
        for c in approved_categories(session, tenant)
        if not wanted or any(wanted in (t or "").casefold() for t in (c.code, c.name, c.description))
    ]
    state = state if state in US_STATES else ""
    query = select(CategoryRate).where(CategoryRate.category_id.in_([c.id for c in categories]))
    if state:
        query = query.where(CategoryRate.state == state)
    by_category: dict[str, dict[str, StateRates]] = defaultdict(dict)
    for row in session.scalars(query):
        rates = by_category[row.category_id].setdefault(
            row.state, StateRates(row.state, US_STATES[row.state])
        )
        fees = row.stamping_fee + row.risk_purchasing_group_fee
        rates.rates[CoverageType(row.coverage_type)] = Rate(row.net_rate + fees, fees)
    states = [state] if state else list(US_STATES)
    return [
        JobCode(
            c.code,
            c.name,
            c.description,
            [by_category[c.id].get(s) or StateRates(s, US_STATES[s]) for s in states],
        )
        for c in categories
    ]
