"""Premium arithmetic. ``net_rate`` is cents of premium per $100 (10,000 cents) of pay."""

from dataclasses import dataclass

PAY_UNIT_CENTS = 10_000


def premium_cents(gross_pay_cents: int, net_rate: int) -> int:
    """``round_half_up(gross_pay * net_rate / 10000)`` in exact integer arithmetic."""
    if gross_pay_cents < 0 or net_rate < 0:
        raise ValueError("gross pay and rate must not be negative")
    return (2 * gross_pay_cents * net_rate + PAY_UNIT_CENTS) // (2 * PAY_UNIT_CENTS)


@dataclass(frozen=True)
class GeneralLiabilityRate:
    net_rate: int
    stamping_fee: int
    risk_purchasing_group_fee: int

    @property
    def total(self) -> int:
        return self.net_rate + self.stamping_fee + self.risk_purchasing_group_fee


@dataclass(frozen=True)
class QuotedRates:
    """The rates of one quote: one component per requested coverage type, each in cents per $100."""

    general: GeneralLiabilityRate | None = None
    workers_comp: int | None = None
    professional: int | None = None

    @property
    def gl_net_rate(self) -> int:
        return self.general.total if self.general else 0

    @property
    def wc_net_rate(self) -> int:
        return self.workers_comp or 0

    @property
    def pl_net_rate(self) -> int:
        return self.professional or 0

    @property
    def net_rate(self) -> int:
        return self.gl_net_rate + self.wc_net_rate + self.pl_net_rate

    def as_quote_json(self) -> dict[str, dict[str, int]]:
        body: dict[str, dict[str, int]] = {}
        if self.general:
            body["gl"] = {
                "net_rate": self.general.net_rate,
                "stamping_fee": self.general.stamping_fee,
                "risk_purchasing_group_fee": self.general.risk_purchasing_group_fee,
            }
        if self.workers_comp is not None:
            body["wc"] = {"net_rate": self.workers_comp}
        if self.professional is not None:
            body["pl"] = {"net_rate": self.professional}
        return body


def estimated_gross_pay(wage_cents: int, wage_type: str, duration_hours: float | None) -> int:
    """What a job is expected to pay in total: the wage for a flat fee, else wage x hours when known."""
    if wage_type != "flatfee" and duration_hours:
        return round(wage_cents * duration_hours)
    return wage_cents
