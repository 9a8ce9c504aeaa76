"""Amounts as people type them in a form (dollars: "1200", "1,200.50", "$75") and as the services take them
(cents). Only the format is checked here; the service checks the amount, with the API's message."""

import re
from decimal import Decimal, InvalidOperation

from domain.errors import invalid

_DOLLARS = re.compile(r"^\$?\s*(\d{1,3}(,\d{3})+|\d+)(\.\d{1,2})?$")


def cents(text: str, field: str) -> int:
    value = text.strip()
    if not _DOLLARS.match(value):
        raise invalid(f"{field}: an amount in dollars, e.g. 1200 or 1,200.50", field, rule="dollars")
    try:
        return int(Decimal(value.lstrip("$").strip().replace(",", "")) * 100)
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
        raise invalid(f"{field}: an amount in dollars, e.g. 1200 or 1,200.50", field) from None


def dollars(amount: int) -> str:
    """Cents as a form field's value ("1200.50")."""
    return f"{amount // 100}.{amount % 100:02d}" if amount >= 0 else f"-{dollars(-amount)}"
