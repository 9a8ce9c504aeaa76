"""Seed 002's sync rules and every item of its troubleshooting list, as pure decisions."""

from dataclasses import replace

import pytest

from domain.creatoriq import CreatorSnapshot, SyncOutcome, decide_sync

NOW = 1_800_000_000
CREATOR = CreatorSnapshot(
    publisher_id=101,
    campaign_id=7,
    name="Ava Stone",
    email="ava@creators.example",
    address_line1="9 Sunset Blvd",
    city="Los Angeles",
    state="CA",
    zip_code="90028",
    country="US",
    campaign_name="Summer launch",
    campaign_description="Two reels and a story",
    campaign_start=NOW + 10 * 86_400,
    campaign_end=NOW + 40 * 86_400,
    status="Accepted",
    payment_amount=4500.0,
    custom_fields={3: "PO-88", 8: "NY"},
)


def test_a_complete_creator_maps_to_a_plan() -> None:
    decision = decide_sync(CREATOR, NOW)
    assert decision.outcome is SyncOutcome.READY and decision.plan
    plan = decision.plan
    assert (plan.first_name, plan.last_name, plan.email, plan.work_state, plan.pay_cents) == (
        "Ava",
        "Stone",
        "ava@creators.example",
        "NY",
        450_000,
    )
    assert (
        plan.address["region"] == "CA" and plan.purchase_order_number == "PO-88" and not plan.withhold_premium
    )


def test_base_pay_wins_over_the_payment_amount_and_work_state_defaults_to_home() -> None:
    plan = decide_sync(replace(CREATOR, custom_fields={10: "3200"}), NOW).plan
    assert plan and (plan.pay_cents, plan.work_state) == (320_000, "CA")


def test_agency_pay_withholds_and_needs_the_po_contact() -> None:
    plan = decide_sync(
        replace(CREATOR, custom_fields={7: "true", 4: "po@agency.example", 5: "Pat Agent"}), NOW
    ).plan
    assert plan and plan.withhold_premium and plan.po_contact_email == "po@agency.example"
    failed = decide_sync(replace(CREATOR, custom_fields={7: "true"}), NOW)
    assert failed.outcome is SyncOutcome.FAILED and "CustomField4" in failed.reasons[0]


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"campaign_start": NOW - 86_400}, "campaign start date is in the past"),
        ({"state": "Ontario", "country": "CA"}, "not in the US"),
        ({"custom_fields": {8: "Bavaria"}}, "Work State (CustomField8) 'Bavaria' is not a US state"),
        ({"payment_amount": 0.0}, "payment amount is missing or zero"),
        ({"payment_amount": None}, "payment amount is missing or zero"),
        ({"custom_fields": {10: "$4,500.00"}}, "must be a plain number such as 4500, not '$4,500.00'"),
        ({"email": None}, "required fields are missing: email"),
        ({"address_line1": "", "state": None}, "required fields are missing: home address, home state"),
    ],
)
def test_each_troubleshooting_case_fails_with_a_reason(change: dict[str, object], reason: str) -> None:
    decision = decide_sync(replace(CREATOR, **change), NOW)  # type: ignore[arg-type]
    assert decision.outcome is SyncOutcome.FAILED and decision.plan is None
    assert any(reason in r for r in decision.reasons), decision.reasons


def test_a_non_us_home_is_fine_when_the_work_state_is_set() -> None:
    decision = decide_sync(replace(CREATOR, state="TX", country="US", custom_fields={8: "WA"}), NOW)
    assert decision.outcome is SyncOutcome.READY


def test_exempt_and_not_yet_accepted_creators_are_skipped() -> None:
    assert decide_sync(replace(CREATOR, custom_fields={9: "true"}), NOW).outcome is SyncOutcome.SKIPPED
    skipped = decide_sync(replace(CREATOR, status="Invited"), NOW)
    assert skipped.outcome is SyncOutcome.SKIPPED and "not Accepted" in skipped.reasons[0]


def test_fixing_the_data_makes_the_next_sync_succeed() -> None:
    broken = replace(CREATOR, custom_fields={10: "$4,500.00"})
    assert decide_sync(broken, NOW).outcome is SyncOutcome.FAILED
    assert decide_sync(replace(broken, custom_fields={10: "4500"}), NOW).outcome is SyncOutcome.READY
