"""Monopolistic states: workers' compensation there is written only by the state's own fund, never by a
private carrier (so never by us). 1099Policy answers such a request with a 400 that names the fund."""

from collections.abc import Iterable

from domain.coverage import CoverageType
from domain.geography import US_STATES

STATE_FUNDS = {
    "ND": "North Dakota Workforce Safety & Insurance (WSI, workforcesafety.com)",
    "OH": "the Ohio Bureau of Workers' Compensation (BWC, bwc.ohio.gov)",
    "WA": "the Washington State Department of Labor & Industries (L&I, lni.wa.gov)",
    "WY": "the Wyoming Department of Workforce Services, Workers' Compensation Division (dws.wyo.gov)",
}


def state_fund_refusal(coverage: Iterable[CoverageType | str], work_state: str) -> str | None:
    """Why workers' comp cannot be quoted for work in ``work_state``, or None where it can."""
    wanted = {CoverageType(c) for c in coverage}
    fund = STATE_FUNDS.get(work_state)
    if fund is None or CoverageType.WORKERS_COMP not in wanted:
        return None
    return (
        f"coverage_type: workers-comp is not available in {US_STATES[work_state]}, a monopolistic state: "
        f"workers' compensation for work there is written only by the state fund, {fund}; the "
        "contractor's business insures through that fund. General liability alone can still be quoted."
    )
