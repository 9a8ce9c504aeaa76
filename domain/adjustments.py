"""Settling a premium that changes after money moved: charge the difference, or refund it."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Settlement:
    charge: int = 0
    refund: int = 0


def settle(collected: int, premium: int) -> Settlement:
    """What moves so that ``collected`` (captured minus refunded, in cents) becomes the new ``premium``."""
    if collected < 0 or premium < 0:
        raise ValueError("amounts are never negative")
    if premium > collected:
        return Settlement(charge=premium - collected)
    return Settlement(refund=collected - premium)


def refund_plan(payments: list[tuple[str, int]], amount: int) -> list[tuple[str, int]]:
    """Spread a refund over earlier payments ``(payment id, refundable cents)``, newest first, never refunding
    a payment beyond what is left of it."""
    plan: list[tuple[str, int]] = []
    for payment_id, refundable in reversed(payments):
        if amount <= 0:
            break
        part = min(refundable, amount)
        if part > 0:
            plan.append((payment_id, part))
            amount -= part
    if amount > 0:
        raise ValueError("refund exceeds what was collected")
    return plan
