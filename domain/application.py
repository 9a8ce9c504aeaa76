"""The insurance application's steps and eligibility questions (pure rules)."""

from dataclasses import dataclass
from enum import StrEnum


class Step(StrEnum):
    VERIFY_INFO = "verify_info"
    APPLICATION_QUESTIONS = "application_questions"
    ESIGNATURE_DOCUMENT = "esignature_document"
    ADD_CARD_DETAILS = "add_card_details"
    FINAL_REVIEW = "final_review"
    APPLICATION_COMPLETE = "application_complete"


class Status(StrEnum):
    CREATED = "CREATED"
    IN_PROGRESS = "IN_PROGRESS"
    APPLICATION_COMPLETE = "APPLICATION_COMPLETE"
    EXPIRED = "EXPIRED"
    INELIGIBLE = "INELIGIBLE"
    MANUAL_REVIEW = "MANUAL_REVIEW"  # an underwriter looks at the answers; the contractor waits for them


ENDED = frozenset({Status.APPLICATION_COMPLETE, Status.EXPIRED, Status.INELIGIBLE})
ORDER = list(Step)


def steps_for(premium_withheld: bool) -> list[Step]:
    """The card step is skipped when the organization pays (the premium is withheld)."""
    return [s for s in ORDER if not (premium_withheld and s is Step.ADD_CARD_DETAILS)]


def next_step(current: Step, premium_withheld: bool) -> Step:
    steps = steps_for(premium_withheld)
    return steps[min(steps.index(current) + 1, len(steps) - 1)]


def reached(current: Step, step: Step) -> bool:
    """Has the contractor got as far as ``step``? (Earlier steps can be submitted again, e.g. after Back.)"""
    return ORDER.index(current) >= ORDER.index(step)


def shown_step(current: Step, requested: str | None) -> Step:
    """The page to show: ``requested`` when it is an earlier step the contractor reached (Back), else the
    current one."""
    if requested in {s.value for s in ORDER}:
        step = Step(requested)
        if reached(current, step) and step is not Step.APPLICATION_COMPLETE:
            return step
    return current


NO_US_STATE = "Please choose a US state."


def signature_refusal(typed_name: str, first_name: str, last_name: str) -> str | None:
    """Why a typed signature is not the full name (case and spacing aside); None when it is."""
    if typed_name.casefold().split() == f"{first_name} {last_name}".casefold().split():
        return None
    return f"Please type your full name exactly: {first_name} {last_name}"


class Outcome(StrEnum):
    ELIGIBLE = "eligible"
    INELIGIBLE = "ineligible"
    MANUAL_REVIEW = "manual_review"


@dataclass(frozen=True)
class Assessment:
    outcome: Outcome
    reason: str | None = None


WORKS_ALONE = (
    "This coverage is for independent contractors who work alone, without employees or subcontractors."
)
LICENSED = "Work that requires a license can only be covered when you hold that license."
CLAIMS_NEED_REVIEW = (
    "More than two insurance claims in the last three years need a review by an underwriter before the "
    "application can continue."
)
NOTHING_TO_CONFIRM = "Your card does not need confirming any more: reload this page."  # a 3-D Secure hold
DECLINED_AFTER_REVIEW = "An underwriter reviewed your answers and cannot offer this coverage."


def assess(hires_workers: bool, claims_last_three_years: int, licensed_if_required: bool) -> Assessment:
    """What the answers mean. The coverage is for sole proprietors who hold the licenses their work needs;
    many recent claims do not rule a contractor out, but an underwriter decides."""
    if hires_workers:
        return Assessment(Outcome.INELIGIBLE, WORKS_ALONE)
    if not licensed_if_required:
        return Assessment(Outcome.INELIGIBLE, LICENSED)
    if claims_last_three_years > 2:
        return Assessment(Outcome.MANUAL_REVIEW, CLAIMS_NEED_REVIEW)
    return Assessment(Outcome.ELIGIBLE)


def ineligibility(
    hires_workers: bool, claims_last_three_years: int, licensed_if_required: bool
) -> str | None:
    """The rule of applications started before manual review: many claims ended the application too."""
    if hires_workers:
        return WORKS_ALONE
    if claims_last_three_years > 2:
        return (
            "More than two insurance claims in the last three years need a manual review by an underwriter."
        )
    if not licensed_if_required:
        return LICENSED
    return None
