"""The insurance application's steps and eligibility questions (pure rules)."""

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


def ineligibility(
    hires_workers: bool, claims_last_three_years: int, licensed_if_required: bool
) -> str | None:
    """Why the answers rule the contractor out, or None. The coverage is for sole proprietors."""
    if hires_workers:
        return (
            "This coverage is for independent contractors who work alone, without employees or "
            "subcontractors."
        )
    if claims_last_three_years > 2:
        return (
            "More than two insurance claims in the last three years need a manual review by an underwriter."
        )
    if not licensed_if_required:
        return "Work that requires a license can only be covered when you hold that license."
    return None
