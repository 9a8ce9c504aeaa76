"""Property tests of the pure premium rules: rounding, rate lookup, coverage dates, who pays."""

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.coverage import CoverageType, rating_state
from domain.dates import DAY, MAX_TERM, CoverageDateError, coverage_period, start_of_day
from domain.geography import US_STATES
from domain.payer import premium_is_withheld
from domain.premium import GeneralLiabilityRate, QuotedRates, estimated_gross_pay, premium_cents
from domain.rating import RateRow, rate_quote

pay = st.integers(min_value=0, max_value=10_000_000_000)
rate = st.integers(min_value=0, max_value=5_000)
states = st.sampled_from(sorted(US_STATES))
coverages = st.lists(st.sampled_from(list(CoverageType)), min_size=1, max_size=3, unique=True)


@given(pay, rate)
def test_premium_is_gross_pay_times_rate_rounded_half_up(gross: int, net_rate: int) -> None:
    exact = Decimal(gross) * Decimal(net_rate) / Decimal(10_000)
    assert premium_cents(gross, net_rate) == int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@given(pay, pay, rate)
def test_premium_never_decreases_with_pay(a: int, b: int, net_rate: int) -> None:
    low, high = sorted((a, b))
    assert premium_cents(low, net_rate) <= premium_cents(high, net_rate)


@given(pay, rate, rate)
def test_split_rates_cost_at_most_a_cent_each_versus_the_total(gross: int, r1: int, r2: int) -> None:
    parts = premium_cents(gross, r1) + premium_cents(gross, r2)
    assert abs(parts - premium_cents(gross, r1 + r2)) <= 1


def test_premium_examples_and_refusals() -> None:
    assert premium_cents(250_000, 65) == 1625  # $2,500 at 65 cents per $100
    assert premium_cents(50, 100) == 1  # 0.5 cent rounds half up
    assert premium_cents(49, 100) == 0
    with pytest.raises(ValueError):
        premium_cents(-1, 10)


@given(states, states, coverages, st.data())
def test_rating_uses_work_state_for_wc_and_home_state_for_liability(
    work: str, home: str, wanted: list[CoverageType], data: st.DataObject
) -> None:
    card = {
        (state, coverage): RateRow(
            data.draw(rate), data.draw(st.integers(0, 5)), data.draw(st.integers(0, 5))
        )
        for state in {work, home}
        for coverage in CoverageType
        if data.draw(st.booleans())
    }
    rating = rate_quote(card, "Photographer", wanted, work_state=work, residence_state=home)
    missing = [c for c in wanted if (rating_state(c, work_state=work, residence_state=home), c) not in card]
    assert rating.eligible == (not missing)
    if missing:
        assert rating.message is not None
        assert all(f"{c.value} coverage for Photographer is not available" in rating.message for c in missing)
        return
    expected = 0
    for coverage in wanted:
        row = card[(rating_state(coverage, work_state=work, residence_state=home), coverage)]
        extra = row.stamping_fee + row.risk_purchasing_group_fee if coverage is CoverageType.GENERAL else 0
        expected += row.net_rate + extra
    assert rating.rates.net_rate == expected
    assert (
        rating.rates.net_rate
        == rating.rates.gl_net_rate + rating.rates.wc_net_rate + rating.rates.pl_net_rate
    )


def test_quote_json_shape() -> None:
    rates = QuotedRates(general=GeneralLiabilityRate(20, 3, 2), workers_comp=45)
    assert rates.as_quote_json() == {
        "gl": {"net_rate": 20, "stamping_fee": 3, "risk_purchasing_group_fee": 2},
        "wc": {"net_rate": 45},
    }
    assert (rates.gl_net_rate, rates.wc_net_rate, rates.net_rate) == (25, 45, 70)


now_ts = st.integers(min_value=1_700_000_000, max_value=2_000_000_000)


@given(now_ts, st.integers(0, 400 * DAY), st.integers(-5 * DAY, 400 * DAY))
def test_coverage_period_rules(now: int, start_offset: int, length: int) -> None:
    effective = start_of_day(now) + start_offset
    try:
        period = coverage_period(now, effective, effective + length)
    except CoverageDateError as error:
        same_day = start_of_day(effective + length) == start_of_day(effective)
        assert error.field == "end_date" and not same_day and (length < 0 or length > MAX_TERM)
        return
    assert period.effective_date == effective
    assert period.effective_date < period.end_date <= period.effective_date + MAX_TERM


@given(now_ts)
def test_default_period_is_tomorrow_for_thirty_days(now: int) -> None:
    period = coverage_period(now, None, None)
    assert period.effective_date == start_of_day(now) + DAY
    assert period.end_date == period.effective_date + 30 * DAY


def test_effective_date_in_the_past_is_refused() -> None:
    with pytest.raises(CoverageDateError) as raised:
        coverage_period(1_800_000_000, 1_800_000_000 - 2 * DAY, None)
    assert raised.value.field == "effective_date"


@given(st.none() | st.booleans(), st.none() | st.booleans(), st.booleans())
def test_most_specific_withhold_setting_wins(job: bool | None, contractor: bool | None, org: bool) -> None:
    expected = job if job is not None else contractor if contractor is not None else org
    assert premium_is_withheld(job, contractor, org) is expected


def test_estimated_gross_pay() -> None:
    assert estimated_gross_pay(250_000, "flatfee", 10) == 250_000
    assert estimated_gross_pay(5_000, "hourly", 12.5) == 62_500
    assert estimated_gross_pay(5_000, "hourly", None) == 5_000
