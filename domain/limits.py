"""The largest amounts the business writes and the database holds. Every amount a caller sends or we derive
(wages, hours, pay, premiums, invoice and bill amounts) is checked against these before it is stored, so a
wage times the hours of a long job cannot become a billion-dollar premium, and no value overflows its
column (amounts and times are 64-bit columns; row numbers, which the dashboard's cursors name, 32-bit)."""

from domain.errors import DomainError, invalid

MAX_INT32 = 2**31 - 1  # the largest value an Integer column (row numbers) holds on PostgreSQL
MAX_INT64 = 2**63 - 1  # the largest value a BigInteger column (and SQLite's integer) holds

MAX_WAGE_CENTS = 2_000_000_000  # $20,000,000: a job's wage
MAX_DURATION_HOURS = 10_000  # a job's hours: more than a year of full-time work
MAX_ESTIMATED_PAY_CENTS = 2_000_000_000  # $20,000,000: what one job may pay in all (wage x hours)
MAX_GROSS_PAY_CENTS = 100_000_000  # $1,000,000: one invoice's gross pay
MAX_PREMIUM_CENTS = 100_000_000  # $1,000,000: the largest premium we write for one contractor's job
MAX_PAYMENT_CENTS = 1_000_000_000  # $10,000,000: one payment received against bills


def _dollars(cents: int) -> str:
    return f"${cents // 100:,}"


def check_estimated_pay(pay_cents: int) -> int:
    """A job's wage times its hours, refused when it is more than any job pays."""
    if pay_cents > MAX_ESTIMATED_PAY_CENTS:
        raise too_large(
            "duration_hours",
            f"wage x duration_hours: the job would pay {_dollars(pay_cents)}, more than the "
            f"{_dollars(MAX_ESTIMATED_PAY_CENTS)} a job may pay; lower the wage or the hours",
        )
    return pay_cents


def check_premium(premium_cents: int, field: str = "wage") -> int:
    """A premium we would charge or bill, refused when it is more than we write for one job."""
    if premium_cents > MAX_PREMIUM_CENTS:
        raise too_large(
            field,
            f"{field}: the premium would be {_dollars(premium_cents)}, more than the "
            f"{_dollars(MAX_PREMIUM_CENTS)} we cover for one job; lower the pay",
        )
    return premium_cents


def too_large(field: str, message: str) -> DomainError:
    return invalid(message, field)
