"""The premium calculator: what the API's quote path would state for an engagement (a job category, the work
state, the contractor's home state, the coverage, the pay and the dates), one at a time or a CSV file of them,
without creating or charging anything. The rates and the premium come from services.quotes (the same
``category_rating`` and ``priced`` a quote is filled with); this module only reads the staff's input and says
in their words what is wrong with it.

A file has at most MAX_ROWS rows and MAX_BYTES bytes; each bad row is kept with why, the others priced."""

import csv
import datetime as dt
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy.orm import Session

from common.schemas import has_nul
from db.models import Job, JobCategory
from domain.coverage import COVERAGE_WORDS, CoverageType, rating_state
from domain.dates import CoverageDateError, CoveragePeriod, coverage_period
from domain.errors import DomainError, invalid
from domain.geography import US_STATES
from domain.limits import MAX_DURATION_HOURS, MAX_WAGE_CENTS
from domain.premium import QuotedRates
from domain.state_funds import state_fund_refusal
from services.catalog import approved_categories
from services.jobs import PAY_TYPE_WORDS, WageType
from services.lookups import get_job, now, scoped
from services.quotes import category_rating, coverage_list, priced
from services.tenancy import Tenant

MAX_ROWS = 5_000
MAX_BYTES = 1_000_000
COLUMNS = [
    "job_category",
    "work_state",
    "home_state",
    "coverage",
    "pay",
    "pay_type",
    "hours",
    "start_date",
    "end_date",
]
RESULT_COLUMNS = [*COLUMNS, "estimated_pay", "rate_per_100", "premium", "problem"]
_COVERAGE_NAMES = {
    **{c.value: c for c in CoverageType},
    **{words.lower(): c for c, words in COVERAGE_WORDS.items()},
    "workers comp": CoverageType.WORKERS_COMP,
    "workers' compensation": CoverageType.WORKERS_COMP,
    "workers compensation": CoverageType.WORKERS_COMP,
    "wc": CoverageType.WORKERS_COMP,
    "gl": CoverageType.GENERAL,
    "pl": CoverageType.PROFESSIONAL,
}
_PAY_TYPE_NAMES = {
    **{w.value: w for w in WageType},
    **{words.lower(): w for w, words in PAY_TYPE_WORDS.items()},
    "flat fee": WageType.FLATFEE,
    "flat": WageType.FLATFEE,
    "per hour": WageType.HOURLY,
    "per unit": WageType.UNIT,
}
_DOLLARS = re.compile(r"^\$?\s*(\d{1,3}(,\d{3})+|\d+)(\.\d{1,2})?$")
_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


class Problem(Exception):
    """What is wrong with an engagement, in the words of the staff who typed it."""


@dataclass(frozen=True)
class Coverage:
    """One coverage of an estimate: where it is rated, and its rate (cents per $100 of pay)."""

    words: str
    state: str
    rate: int


@dataclass
class Estimate:
    """One engagement, as typed (``cells``) and as the quote path prices it; or the problem with it."""

    cells: dict[str, str]
    row: int | None = None  # the row as a spreadsheet numbers it (the header is row 1)
    category: str = ""
    coverages: list[Coverage] = field(default_factory=list)
    net_rate: int = 0
    estimated_pay: int | None = None
    premium: int | None = None
    problem: str | None = None


@dataclass(frozen=True)
class FileEstimate:
    estimates: list[Estimate]

    @property
    def priced(self) -> list[Estimate]:
        return [e for e in self.estimates if e.problem is None]

    @property
    def refused(self) -> list[Estimate]:
        return [e for e in self.estimates if e.problem is not None]

    @property
    def total_premium(self) -> int:
        return sum(e.premium or 0 for e in self.priced)


def _category(categories: Sequence[JobCategory], text: str) -> JobCategory:
    wanted = text.strip().casefold()
    if not wanted:
        raise Problem("Choose a job category.")
    for category in categories:
        if wanted in (category.id.casefold(), category.code.casefold(), category.name.casefold()):
            return category
    raise Problem(
        f"“{text.strip()[:80]}” is not one of your organization's job categories: use a code or name "
        "from the Job codes page."
    )


def _state(text: str, whose: str) -> str:
    wanted = text.strip()
    if wanted.upper() in US_STATES:
        return wanted.upper()
    for code, name in US_STATES.items():
        if name.casefold() == wanted.casefold():
            return code
    if not wanted:
        raise Problem(f"Choose the {whose}.")
    raise Problem(f"“{wanted[:40]}” is not a US state: use its two-letter code, e.g. CA, for the {whose}.")


def _coverage(values: Sequence[str]) -> list[CoverageType]:
    found: list[CoverageType] = []
    for value in values:
        for part in re.split(r"[;,+]", value):
            name = part.strip().casefold()
            if not name:
                continue
            if name not in _COVERAGE_NAMES:
                raise Problem(
                    f"“{part.strip()[:40]}” is not a coverage we write: use workers' comp, general liability "
                    "or professional liability."
                )
            found.append(_COVERAGE_NAMES[name])
    if not found:
        raise Problem("Choose at least one coverage.")
    return coverage_list(found)


def _cents(text: str) -> int:
    value = text.strip()
    if not _DOLLARS.match(value):
        raise Problem("Write the pay in dollars, e.g. 1200 or 1,200.50.")
    cents = int(Decimal(value.lstrip("$").strip().replace(",", "")) * 100)
    if cents < 100:
        raise Problem("The pay must be at least $1.00.")
    if cents > MAX_WAGE_CENTS:
        raise Problem(f"The pay must be at most ${MAX_WAGE_CENTS // 100:,}.")
    return cents


def _pay_type(text: str) -> WageType:
    wanted = text.strip().casefold()
    if wanted in _PAY_TYPE_NAMES:
        return _PAY_TYPE_NAMES[wanted]
    raise Problem("Say how the pay is counted: flat fee, per hour, per unit or blended.")


def _hours(text: str, pay_type: WageType) -> float | None:
    value = text.strip().replace(",", "")
    if not value:
        if pay_type is WageType.HOURLY:
            raise Problem("Give the number of hours for pay per hour.")
        return None
    try:
        hours = float(value)
    except ValueError:
        raise Problem("Write the hours as a number, e.g. 40 or 7.5.") from None
    if not 0 < hours <= MAX_DURATION_HOURS:
        raise Problem(f"The hours must be more than 0 and at most {MAX_DURATION_HOURS:,}.")
    return hours


def _date(text: str, which: str) -> int | None:
    value = text.strip()
    if not value:
        return None
    us = _US_DATE.match(value)
    try:
        day = dt.date(int(us[3]), int(us[1]), int(us[2])) if us else dt.date.fromisoformat(value)
    except ValueError:
        raise Problem(f"Write the {which} date as 2027-01-31 or 1/31/2027.") from None
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp())


def _period(start: int | None, end: int | None) -> CoveragePeriod:
    try:
        return coverage_period(now(), start, end)
    except CoverageDateError as error:
        if error.code == "effective_date_invalid":
            raise Problem("The start date is in the past: coverage starts today or later.") from None
        if "at most one year" in error.message:
            raise Problem("Coverage lasts at most one year: bring the end date closer.") from None
        raise Problem("The end date comes before the start date.") from None


def _missing(rates: QuotedRates, coverage: list[CoverageType]) -> list[CoverageType]:
    parts = {
        CoverageType.GENERAL: rates.general,
        CoverageType.WORKERS_COMP: rates.workers_comp,
        CoverageType.PROFESSIONAL: rates.professional,
    }
    return [c for c in coverage if parts[c] is None]


def _estimate(categories: Sequence[JobCategory], session: Session, cells: dict[str, str]) -> Estimate:
    found = Estimate(cells)
    category = _category(categories, cells.get("job_category", ""))
    found.category = category.name
    work = _state(cells.get("work_state", ""), "work state")
    home = _state(cells.get("home_state", "") or work, "contractor's home state")
    coverage = _coverage([cells.get("coverage", "")])
    pay = _cents(cells.get("pay", ""))
    pay_type = _pay_type(cells.get("pay_type", "") or "flatfee")
    hours = _hours(cells.get("hours", ""), pay_type)
    _period(_date(cells.get("start_date", ""), "start"), _date(cells.get("end_date", ""), "end"))
    if state_fund_refusal(coverage, work) is not None:
        raise Problem(
            f"Workers' comp for work in {US_STATES[work]} is written only by the state fund, not by us: "
            "choose general liability alone, or ask the contractor to insure through the fund."
        )
    rating = category_rating(session, category, coverage, work, home)
    missing = _missing(rating.rates, coverage)
    if missing:
        where = ", ".join(
            f"{COVERAGE_WORDS[c]} in {US_STATES[rating_state(c, work_state=work, residence_state=home)]}"
            for c in missing
        )
        raise Problem(f"We do not write {where} for {category.name}.")
    try:
        price = priced(rating, pay, pay_type, hours)
    except DomainError:
        raise Problem(
            "The pay comes to more than one job may pay, or its premium to more than we cover for one job: "
            "lower the pay or the hours."
        ) from None
    found.coverages = [
        Coverage(
            COVERAGE_WORDS[c],
            US_STATES[rating_state(c, work_state=work, residence_state=home)],
            _rate_of(rating.rates, c),
        )
        for c in coverage
    ]
    found.net_rate = rating.rates.net_rate
    found.estimated_pay, found.premium = price.estimated_gross_pay, price.premium_due
    return found


def _rate_of(rates: QuotedRates, coverage: CoverageType) -> int:
    if coverage is CoverageType.GENERAL:
        return rates.gl_net_rate
    if coverage is CoverageType.WORKERS_COMP:
        return rates.wc_net_rate
    return rates.pl_net_rate


JOB_CHOICES = 200  # the newest jobs offered to start from


@dataclass(frozen=True)
class CalculatorChoices:
    categories: list[JobCategory]
    jobs: list[Job]


def choices(session: Session, tenant: Tenant) -> CalculatorChoices:
    """What the form offers: the organization's approved categories, and its newest jobs to start from."""
    jobs = session.scalars(scoped(Job, tenant).order_by(Job.seq.desc()).limit(JOB_CHOICES))
    return CalculatorChoices(list(approved_categories(session, tenant)), list(jobs))


def from_job(session: Session, tenant: Tenant, job_id: str) -> dict[str, str]:
    """The form filled from one of the organization's jobs (its category, work state and pay), as typed;
    another tenant's job is not found."""
    job = get_job(session, tenant, job_id)
    category = session.get(JobCategory, job.category_id)
    return {
        "job": job.id,
        "job_category": category.code if category else "",
        "work_state": str((job.address or {}).get("region") or ""),
        "pay": f"{job.wage // 100}.{job.wage % 100:02d}",
        "pay_type": job.wage_type,
        "hours": f"{job.duration_hours:g}" if job.duration_hours else "",
    }


def estimate_one(session: Session, tenant: Tenant, cells: dict[str, str]) -> Estimate:
    """One engagement priced as a quote would be; refused (a DomainError in the staff's words) when its
    input is not one."""
    try:
        return _estimate(approved_categories(session, tenant), session, cells)
    except Problem as problem:
        raise invalid(str(problem), "engagement") from None


def _rows(data: bytes) -> list[tuple[int, dict[str, str]]]:
    if len(data) > MAX_BYTES:
        raise invalid(
            f"The file is larger than {MAX_BYTES // 1_000_000} MB: split it and calculate each part.", "file"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise invalid(
            "The file is not UTF-8 text: in your spreadsheet, save it as “CSV UTF-8” and choose it again.",
            "file",
        ) from None
    if has_nul(text):
        raise invalid("The file is not a CSV file.", "file")
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[tuple[int, dict[str, str]]] = []
    try:
        header = [h.strip().lower() for h in next(reader, [])]
        if not any(header):
            raise invalid(
                "The file is empty: its first row must name the columns (download the template).", "file"
            )
        unknown = [h for h in header if h and h not in COLUMNS]
        if unknown:
            raise invalid(
                f"The column “{unknown[0][:40]}” is not one the calculator reads: the columns are "
                f"{', '.join(COLUMNS)} (download the template).",
                "file",
            )
        for needed in ("job_category", "work_state", "coverage", "pay"):
            if needed not in header:
                raise invalid(f"The file needs a {needed} column (download the template).", "file")
        for number, record in enumerate(reader, start=2):
            if not any(cell.strip() for cell in record):
                continue
            if len(rows) == MAX_ROWS:
                raise invalid(
                    f"The file has more than {MAX_ROWS:,} engagements: split it and calculate each part.",
                    "file",
                )
            rows.append((number, {c: v for c, v in zip(header, record, strict=False) if c}))
    except csv.Error:
        raise invalid(f"Row {reader.line_num} is not valid CSV: check its quotes.", "file") from None
    if not rows:
        raise invalid("The file has no engagements under its header row.", "file")
    return rows


def estimate_file(session: Session, tenant: Tenant, data: bytes) -> FileEstimate:
    """Every row of a CSV file priced, or kept with its problem; the file as a whole refused (a DomainError)
    when it cannot be read, is too large or has too many rows."""
    categories = approved_categories(session, tenant)
    estimates: list[Estimate] = []
    for number, cells in _rows(data):
        try:
            found = _estimate(categories, session, cells)
        except Problem as problem:
            found = Estimate(cells, problem=str(problem))
        found.row = number
        estimates.append(found)
    return FileEstimate(estimates)


def _dollars(cents: int | None) -> str:
    return "" if cents is None else f"{cents // 100}.{cents % 100:02d}"


def template_csv() -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerow(
        ["photographer", "CA", "CA", "workers' comp; general liability", "2500", "flat fee", "", "", ""]
    )
    return out.getvalue()


def result_csv(result: FileEstimate) -> str:
    """The file as uploaded, each row with its estimated pay, rate per $100 of pay, premium (dollars), or
    the problem with it."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(RESULT_COLUMNS)
    for estimate in result.estimates:
        cells = [estimate.cells.get(c, "") for c in COLUMNS]
        if estimate.problem is None:
            priced_cells = [
                _dollars(estimate.estimated_pay),
                _dollars(estimate.net_rate),
                _dollars(estimate.premium),
                "",
            ]
        else:
            priced_cells = ["", "", "", estimate.problem]
        writer.writerow([_safe(c) for c in cells + priced_cells])
    return out.getvalue()


def _safe(cell: str) -> str:
    """A cell a spreadsheet will not run as a formula."""
    return "'" + cell if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell
