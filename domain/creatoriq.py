"""Mapping a CreatorIQ creator on a campaign to what gigcover needs, with seed 002's rules.

Custom fields (CreatorIQ campaign creator attributes): 3 PO number, 4 PO contact email, 5 PO contact name,
7 Agency Pay, 8 Work State, 9 Insurance Exempt, 10 Base Pay. Every problem is reported with a reason an
organization can act on; nothing is guessed.
"""

import re
from dataclasses import dataclass, field
from enum import StrEnum

from email_validator import EmailNotValidError, validate_email

from domain.geography import normalize_state

ACCEPTED = "Accepted"
NUMERIC_PAY = re.compile(r"^\d+(\.\d{1,2})?$")


class SyncOutcome(StrEnum):
    READY = "ready"
    SKIPPED = "skipped"
    FAILED = "failed"


@dataclass(frozen=True)
class CreatorSnapshot:
    """What CreatorIQ says about one creator on one campaign (strings as CreatorIQ sends them)."""

    publisher_id: int
    campaign_id: int
    name: str
    email: str | None
    address_line1: str | None
    city: str | None
    state: str | None
    zip_code: str | None
    country: str | None
    campaign_name: str
    campaign_description: str | None
    campaign_start: int | None  # unix seconds
    campaign_end: int | None
    status: str | None
    payment_amount: float | None  # the campaign's payment amount for the creator, in dollars
    custom_fields: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SyncPlan:
    first_name: str
    last_name: str
    email: str
    address: dict[str, str]
    work_state: str
    pay_cents: int
    job_name: str
    job_description: str
    effective_date: int
    end_date: int | None
    withhold_premium: bool
    purchase_order_number: str | None
    po_contact_name: str | None
    po_contact_email: str | None


@dataclass(frozen=True)
class SyncDecision:
    outcome: SyncOutcome
    reasons: tuple[str, ...] = ()
    plan: SyncPlan | None = None


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("true", "yes", "1")


def _blank(value: str | None) -> bool:
    return not (value or "").strip()


def decide_sync(creator: CreatorSnapshot, now: int) -> SyncDecision:
    fields = creator.custom_fields
    if _truthy(fields.get(9)):
        return SyncDecision(
            SyncOutcome.SKIPPED, ("Insurance Exempt (CustomField9) is true: this creator is not synced",)
        )
    if creator.status != ACCEPTED:
        return SyncDecision(
            SyncOutcome.SKIPPED,
            (f"the creator's campaign status is {creator.status or 'unset'}, not Accepted",),
        )
    problems: list[str] = []
    missing = [
        label
        for label, value in (
            ("email", creator.email),
            ("home address", creator.address_line1),
            ("home state", creator.state),
        )
        if _blank(value)
    ]
    if not _blank(creator.email):
        try:
            validate_email((creator.email or "").strip(), check_deliverability=False)
        except EmailNotValidError:
            problems.append(f"the creator's email '{creator.email}' is not a valid email address")
    if missing:
        problems.append(
            f"required fields are missing: {', '.join(missing)} (set them before moving the creator "
            "to Accepted, then update the creator to sync again)"
        )

    home_state = normalize_state(creator.state or "") if not _blank(creator.state) else None
    if not _blank(creator.state) and (
        home_state is None or (creator.country or "US").upper() not in ("US", "USA", "UNITED STATES")
    ):
        defaulted = (
            " (the blank Work State, CustomField8, defaults to it too)" if _blank(fields.get(8)) else ""
        )
        problems.append(
            f"the home state '{creator.state}' ({creator.country or 'no country'}) is not in the US"
            f"{defaulted}: update the creator's city, state and country of residence in CreatorIQ"
        )
    work_state = home_state
    if not _blank(fields.get(8)):
        work_state = normalize_state(fields[8])
        if work_state is None:
            problems.append(f"the Work State (CustomField8) '{fields[8]}' is not a US state")

    pay_cents = None
    base_pay = (fields.get(10) or "").strip()
    if base_pay:
        if not NUMERIC_PAY.match(base_pay):
            problems.append(f"Base Pay (CustomField10) must be a plain number such as 4500, not '{base_pay}'")
        else:
            pay_cents = round(float(base_pay) * 100)
    elif creator.payment_amount is not None:
        pay_cents = round(creator.payment_amount * 100)
    if (pay_cents is not None and pay_cents <= 0) or (pay_cents is None and not base_pay):
        problems.append(
            "the creator's payment amount is missing or zero: set the campaign payment or Base Pay"
        )

    if creator.campaign_start is None or creator.campaign_start <= now:
        problems.append("the campaign start date is in the past: coverage cannot start before it is bound")

    agency_pay = _truthy(fields.get(7))
    if agency_pay and (_blank(fields.get(4)) or _blank(fields.get(5))):
        problems.append(
            "Agency Pay (CustomField7) is true: the PO contact email (CustomField4) and name "
            "(CustomField5) are required"
        )

    if problems:
        return SyncDecision(SyncOutcome.FAILED, tuple(problems))
    assert creator.email and creator.address_line1 and home_state and work_state and pay_cents
    assert creator.campaign_start is not None
    first, _, last = creator.name.strip().partition(" ")
    return SyncDecision(
        SyncOutcome.READY,
        plan=SyncPlan(
            first_name=first or creator.name,
            last_name=last or "-",
            email=creator.email.strip(),
            address={
                "line1": creator.address_line1,
                "locality": creator.city or "",
                "region": home_state,
                "postalcode": creator.zip_code or "",
            },
            work_state=work_state,
            pay_cents=pay_cents,
            job_name=creator.campaign_name,
            job_description=creator.campaign_description or creator.campaign_name,
            effective_date=creator.campaign_start,
            end_date=creator.campaign_end,
            withhold_premium=agency_pay,
            purchase_order_number=(fields.get(3) or "").strip() or None,
            po_contact_name=(fields.get(5) or "").strip() or None,
            po_contact_email=(fields.get(4) or "").strip() or None,
        ),
    )
