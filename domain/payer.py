"""Which party pays the premium."""

from enum import StrEnum


class Payer(StrEnum):
    CARD = "card"  # the contractor's saved card is charged
    REMIT = "remit"  # the organization is billed (the premium is withheld from the contractor's pay)


def premium_is_withheld(
    job_setting: bool | None, contractor_setting: bool | None, organization_setting: bool
) -> bool:
    """True: the organization is billed (remit). False: the contractor's card is charged.

    The most specific explicit setting wins: the job's, else the contractor's, else the organization's.
    """
    for setting in (job_setting, contractor_setting):
        if setting is not None:
            return setting
    return organization_setting


def payer(job_setting: bool | None, contractor_setting: bool | None, organization_setting: bool) -> Payer:
    withheld = premium_is_withheld(job_setting, contractor_setting, organization_setting)
    return Payer.REMIT if withheld else Payer.CARD
