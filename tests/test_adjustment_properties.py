"""Property tests: however the pay is adjusted, the money collected equals the final premium."""

from hypothesis import given
from hypothesis import strategies as st

from domain.adjustments import refund_plan, settle
from domain.assignment_coverage import (
    ApplicationOnFile,
    CoveragePath,
    Engagement,
    PolicyOnFile,
    decide_coverage,
    repeat_mismatch,
)
from domain.premium import estimated_gross_pay, premium_cents

gross_pays = st.lists(st.integers(min_value=0, max_value=50_000_000), min_size=1, max_size=12)


@given(st.integers(0, 10_000_000), gross_pays, st.integers(1, 500))
def test_collected_always_equals_the_premium_of_the_final_pay(
    initial: int, adjustments: list[int], rate: int
) -> None:
    collected = premium_cents(initial, rate)
    payments: list[tuple[str, int]] = [("first", collected)]  # (payment, what is left of it to refund)
    for number, gross in enumerate(adjustments):
        premium = premium_cents(gross, rate)
        step = settle(collected, premium)
        assert step.charge == 0 or step.refund == 0
        if step.charge:
            payments.append((f"debit-{number}", step.charge))
        for payment_id, part in refund_plan(payments, step.refund):
            payments = [(p, left - part if p == payment_id else left) for p, left in payments]
        collected += step.charge - step.refund
        assert collected == premium >= 0
        assert all(left >= 0 for _, left in payments)
        assert sum(left for _, left in payments) == collected


def test_refunds_never_exceed_what_was_collected() -> None:
    assert refund_plan([("a", 500), ("b", 200)], 600) == [("b", 200), ("a", 400)]
    try:
        refund_plan([("a", 100)], 101)
    except ValueError:
        pass
    else:
        raise AssertionError("over-refund accepted")


POLICY = PolicyOnFile("pl_1", "jc_a", "CA", frozenset({"general", "workers-comp"}), 1_000, 9_000)


def _decide(**changes: object) -> CoveragePath:
    args: dict[str, object] = dict(
        requested=["workers-comp"],
        category_id="jc_a",
        category_approved=True,
        work_state="CA",
        start=2_000,
        end=3_000,
        bind=True,
        policies=[POLICY],
        completed_opt_ins={"CA": "ias_1"},
    )
    args.update(changes)
    return decide_coverage(**args).path  # type: ignore[arg-type]


def test_coverage_paths_and_every_fallback() -> None:
    assert _decide() is CoveragePath.EXISTING_POLICY
    assert _decide(bind=False) is CoveragePath.NOT_BOUND
    assert _decide(policies=[]) is CoveragePath.GENERAL_OPT_IN
    assert _decide(work_state="NY") is CoveragePath.STANDARD  # no policy there, no opt-in there
    assert _decide(policies=[], category_approved=False) is CoveragePath.STANDARD
    assert _decide(policies=[], requested=["general"]) is CoveragePath.STANDARD
    assert _decide(policies=[], requested=["general", "workers-comp"]) is CoveragePath.STANDARD
    assert _decide(end=10_000) is CoveragePath.GENERAL_OPT_IN  # the policy ends before the assignment does
    assert _decide(category_id="jc_b", policies=[POLICY], completed_opt_ins={}) is CoveragePath.STANDARD


wage_types = st.sampled_from(["flatfee", "hourly", "unit", "blended"])


@given(
    st.integers(100, 20_000_000), wage_types, st.none() | st.floats(1, 2_000), gross_pays, st.integers(1, 500)
)
def test_an_engagement_that_started_from_an_application_ends_collecting_the_final_pays_premium(
    wage: int, wage_type: str, hours: float | None, adjustments: list[int], rate: int
) -> None:
    """The application captured the estimate's premium (the job's wage); each final pay then settles the
    difference on the same card: what is collected is always the premium of the newest pay."""
    collected = premium_cents(estimated_gross_pay(wage, wage_type, hours), rate)
    payments: list[tuple[str, int]] = [("application-capture", collected)]
    for number, gross in enumerate(adjustments):
        premium = premium_cents(gross, rate)
        step = settle(collected, premium)
        if step.charge:
            payments.append((f"debit-{number}", step.charge))
        for payment_id, part in refund_plan(payments, step.refund):
            payments = [(p, left - part if p == payment_id else left) for p, left in payments]
        collected += step.charge - step.refund
        assert collected == premium >= 0 and all(left >= 0 for _, left in payments)
        assert sum(left for _, left in payments) == collected


coverage_sets = st.sets(st.sampled_from(["general", "workers-comp"]), min_size=1).map(frozenset)
states = st.sampled_from(["CA", "NY", "TX"])


@given(
    coverage_sets, coverage_sets, st.booleans(), states, states, states, states, st.booleans(), st.booleans()
)
def test_repeat_coverage_binds_exactly_when_every_rule_of_the_guide_holds(
    procured: frozenset[str],
    wanted: frozenset[str],
    same_category: bool,
    work_then: str,
    work_now: str,
    home_then: str,
    home_now: str,
    by_card: bool,
    card: bool,
) -> None:
    on_file = ApplicationOnFile("ias_1", "jc_a", "Influencer", procured, work_then, home_then)
    engagement = Engagement(
        wanted, "jc_a" if same_category else "jc_b", "Other", work_now, home_now, by_card, card
    )
    holds = (
        procured == wanted
        and same_category
        and ("workers-comp" not in wanted or work_now == work_then)
        and ("general" not in wanted or home_now == home_then)
        and (not by_card or card)
    )
    reason = repeat_mismatch(on_file, engagement)
    assert (reason is None) == holds
    path = decide_coverage(
        requested=sorted(wanted),
        category_id=engagement.category_id,
        category_approved=True,
        work_state=work_now,
        start=2_000,
        end=3_000,
        bind=True,
        policies=[],
        completed_opt_ins={},
        application_on_file=on_file,
        engagement=engagement,
    )
    assert (path.path is CoveragePath.APPLICATION_ON_FILE) == holds
    assert holds or path.message.startswith(reason or "")
