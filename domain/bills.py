"""A bill's arithmetic."""


def amount_remaining(amount_due: int, amount_paid: int | None) -> int:
    """What is still due on a bill, in cents: never below zero (an overpayment leaves nothing due)."""
    return max(amount_due - (amount_paid or 0), 0)
