"""Rating a quote: look up each requested coverage's rate and decide eligibility, with a reason."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from domain.coverage import CoverageType, rating_state
from domain.geography import US_STATES
from domain.premium import GeneralLiabilityRate, QuotedRates


@dataclass(frozen=True)
class RateRow:
    net_rate: int
    stamping_fee: int = 0
    risk_purchasing_group_fee: int = 0


# (state, coverage type) -> rate, for one job category.
RateCard = Mapping[tuple[str, CoverageType], RateRow]


@dataclass(frozen=True)
class Rating:
    eligible: bool
    message: str | None
    rates: QuotedRates


def rate_quote(
    card: RateCard,
    category_name: str,
    coverage_types: Sequence[CoverageType],
    *,
    work_state: str,
    residence_state: str,
) -> Rating:
    general: GeneralLiabilityRate | None = None
    workers_comp: int | None = None
    professional: int | None = None
    problems: list[str] = []
    for coverage in coverage_types:
        state = rating_state(coverage, work_state=work_state, residence_state=residence_state)
        row = card.get((state, coverage))
        if row is None:
            where = US_STATES.get(state, state)
            problems.append(f"{coverage.value} coverage for {category_name} is not available in {where}")
            continue
        if coverage is CoverageType.GENERAL:
            general = GeneralLiabilityRate(row.net_rate, row.stamping_fee, row.risk_purchasing_group_fee)
        elif coverage is CoverageType.WORKERS_COMP:
            workers_comp = row.net_rate
        else:
            professional = row.net_rate
    rates = QuotedRates(general=general, workers_comp=workers_comp, professional=professional)
    if problems:
        return Rating(False, "; ".join(problems), rates)
    return Rating(True, None, rates)
