"""The program overview (numbers and charts by period, state and job category), the premium calculator (one
engagement or a CSV file, the same premiums as the API's quotes, nothing created) and the job codes with
their rates by state: in Chromium, found by label and role as staff would, through a real server."""

import base64
import calendar
import csv
import datetime as dt
import io
import re
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy.orm import Session, sessionmaker

from db.models import Organization
from domain.periods import choose_period
from domain.roles import Role
from notifications.render import money
from services.program_overview import program_overview
from services.tenancy import Tenant
from tests.dashboard_support import add_member, readme_screenshot, sign_in
from tests.program_history import History, category_id
from tests.support import Org, contractor_fields, entity_fields, job_fields, make_org, unique_email

pytestmark = pytest.mark.usefixtures("worker")
RATES = Path(__file__).resolve().parent.parent / "data" / "rates.csv"
PERIOD = "period=custom&first=2026-01-01&last=2026-06-30&by=month"


def at(day: str) -> int:
    return calendar.timegm(time.strptime(day, "%Y-%m-%d"))


def _program(factory: sessionmaker[Session], org_id: str, environment: str, big: int) -> None:
    """The same shape of history in another organization or environment, with other numbers: none of it
    may show in the sandbox of the organization under test."""
    photographer = category_id(factory, "photographer")
    history = History(factory, org_id, environment)
    for i in range(5):
        contractor = history.contractor("CA")
        job = history.job(photographer, 100_000 * big)
        history.application(contractor, job, "CA", at("2026-02-03") + i, complete=True)
        history.covered(contractor, job, "CA", at("2026-02-04"), premium=big * 11_111, final_pay=big * 7)
    history.save()


@pytest.fixture(scope="module")
def program(session_factory: sessionmaker[Session]) -> Org:
    """Org A's sandbox history in the first half of 2026 (the numbers the tests expect), and history in org
    A's production and in org B's sandbox that must never be counted with it."""
    org = make_org(session_factory, "Overview Platform")
    photographer = category_id(session_factory, "photographer")
    influencer = category_id(session_factory, "influencer")
    history = History(session_factory, org.id, "sandbox")
    c1, c2, c3 = history.contractor("CA"), history.contractor("TX"), history.contractor("CA")
    j1 = history.job(photographer, 100_000)  # $1,000.00 flat fee, in CA
    j2 = history.job(influencer, 5_000, "TX", "hourly")
    history.application(c1, j1, "CA", at("2026-02-10"), complete=True)
    history.application(c2, j2, "TX", at("2026-03-05"), complete=True)
    history.application(c3, j1, "CA", at("2026-03-20"), complete=False)
    history.application(c3, None, "CA", at("2026-04-02"), complete=True)  # a general opt-in
    history.application(c3, j1, "CA", at("2025-12-01"), complete=True)  # before the period
    history.covered(c1, j1, "CA", at("2026-02-15"), premium=1_234)  # pay: the job's estimate
    history.covered(c2, j2, "TX", at("2026-03-10"), premium=500, status="expired", final_pay=250_000)
    history.covered(c1, j1, "CA", at("2025-12-20"), premium=4_000)  # insured into January, started before
    history.covered(c3, j1, "CA", at("2026-04-01"), premium=9_999, status="cancelled")
    history.covered(c3, j1, "CA", at("2026-08-01"), premium=7_000)  # after the period
    history.save()
    _program(session_factory, org.id, "production", 3)
    other = make_org(session_factory, "Another Platform")
    _program(session_factory, other.id, "sandbox", 5)
    return org


def totals(page: Page) -> dict[str, str]:
    found = page.get_by_label("Program totals").locator("div")
    return {
        found.nth(i).locator("dt").inner_text(): found.nth(i).locator("dd").inner_text()
        for i in range(found.count())
    }


def cells(page: Page, table: str, row: str) -> list[str]:
    found = page.get_by_role("table", name=re.compile(f"^{re.escape(table)}"))
    return (
        found.get_by_role("row", name=re.compile(f"^{re.escape(row)} ")).get_by_role("cell").all_inner_texts()
    )


def test_the_overview_shows_how_the_program_is_doing_by_period_state_and_category(
    api_url: str, program: Org, session_factory: sessionmaker[Session], browser: Browser
) -> None:
    member = add_member(session_factory, program.id, Role.VIEWER)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    sign_in(page, api_url, member)
    page.get_by_role("link", name="Overview").click()
    expect(page.get_by_role("heading", name="How the program is doing")).to_be_visible()
    expect(page.get_by_role("heading", name="Needs attention now")).to_be_visible()
    page.get_by_label("Period").select_option(label="Dates I choose")
    page.get_by_label("First day").fill("2026-01-01")
    page.get_by_label("Last day").fill("2026-06-30")
    page.get_by_label("Show by").select_option(label="Month")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_label("Program totals")).to_be_visible()
    assert totals(page) == {
        "Applications started": "4",
        "Applications completed": "3",
        "Completion rate": "75%",
        "Contractors insured": "2",
        "Premium": "$17.34",
        "Contractor pay": "$3,500.00",
    }
    for title in (
        "Applications started and completed by month",
        "Premium by month",
        "Contractor pay by month",
        "Contractors insured by work state",
        "Contractors insured by job category",
    ):
        chart = page.get_by_role("figure", name=title).get_by_role("img")
        expect(chart).to_have_attribute("alt", re.compile(f"^{re.escape(title)}.*table below"))
        assert chart.evaluate("img => img.complete && img.naturalWidth > 0"), f"{title} was not drawn"
        source = str(chart.get_attribute("src"))
        assert source.startswith("data:image/svg+xml;base64,")  # drawn here, nothing from elsewhere
        assert b"<script" not in base64.b64decode(source.split(",", 1)[1])
    premium_chart = page.get_by_role("figure", name="Premium by month").get_by_role("img")
    expect(premium_chart).to_have_attribute(
        "alt", re.compile(r"\$17\.34 in all, the most in Feb 2026 \(\$12\.34\)")
    )
    assert cells(page, "Month by month", "Feb 2026") == ["1", "1", "100%", "$12.34", "$1,000.00"]
    assert cells(page, "Month by month", "Mar 2026") == ["2", "1", "50%", "$5.00", "$2,500.00"]
    assert cells(page, "Month by month", "Jun 2026") == ["0", "0", "none started", "$0.00", "$0.00"]
    assert cells(page, "By work state", "California") == ["3", "2", "67%", "1", "$12.34", "$1,000.00"]
    assert cells(page, "By work state", "Texas") == ["1", "1", "100%", "1", "$5.00", "$2,500.00"]
    assert cells(page, "By job category", "Photographer") == ["2", "1", "50%", "1", "$12.34", "$1,000.00"]
    assert cells(page, "By job category", "General opt-in (any job)") == [
        "1", "1", "100%", "0", "$0.00", "$0.00",
    ]  # fmt: skip
    readme_screenshot(page, "overview")

    page.get_by_label("Show by").select_option(label="Week")
    page.get_by_role("button", name="Show").click()
    assert cells(page, "Week by week", "Week of Mar 9, 2026") == [
        "0",
        "0",
        "none started",
        "$5.00",
        "$2,500.00",
    ]

    page.get_by_label("First day").fill("2026-06-30")
    page.get_by_label("Last day").fill("2026-01-01")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("alert")).to_have_text("The last day comes before the first day: swap them.")


def test_another_organizations_or_environments_numbers_are_never_counted(
    api_url: str, program: Org, session_factory: sessionmaker[Session], browser: Browser
) -> None:
    member = add_member(session_factory, program.id, Role.ADMIN)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    sign_in(page, api_url, member)
    page.goto(f"{api_url}/dashboard?{PERIOD}")
    assert totals(page)["Premium"] == "$17.34"  # org A's sandbox alone (B's sandbox has $2,777.75)
    page.get_by_role("button", name="View production").click()
    page.goto(f"{api_url}/dashboard?{PERIOD}")
    assert totals(page) == {
        "Applications started": "5",
        "Applications completed": "5",
        "Completion rate": "100%",
        "Contractors insured": "5",
        "Premium": money(5 * 3 * 11_111),
        "Contractor pay": money(5 * 3 * 7),
    }
    assert cells(page, "By work state", "California")[3] == "5"
    with httpx.Client(base_url=api_url) as stranger:  # signed out: nothing
        assert stranger.get(f"/dashboard?{PERIOD}").status_code in (302, 303, 307)


def test_the_overview_reads_a_few_thousand_rows_quickly(session_factory: sessionmaker[Session]) -> None:
    """Measured: 3,000 applications and 3,000 covered assignments over a year."""
    org = make_org(session_factory, "Busy Platform")
    photographer = category_id(session_factory, "photographer")
    history = History(session_factory, org.id, "sandbox")
    start = at("2026-01-01")
    for i in range(3_000):
        contractor = history.contractor("CA")
        job = history.job(photographer, 100_000)
        history.application(contractor, job, "CA", start + i * 3_000, complete=i % 3 == 0)
        history.covered(contractor, job, "CA", start + i * 3_000, premium=1_000, final_pay=None)
    history.save()
    with session_factory() as session:
        tenant = Tenant(session.get(Organization, org.id), "sandbox")  # type: ignore[arg-type]
        period = choose_period("custom", "2026-01-01", "2026-12-31", "week", dt.date(2026, 12, 31))
        began = time.perf_counter()
        found = program_overview(session, tenant, period)
        took = time.perf_counter() - began
    print(f"\noverview of 3,000 applications and 3,000 assignments: {took * 1000:.0f} ms")
    assert found.total.started == 3_000 and found.total.contractors_insured == 3_000
    assert found.total.premium == 3_000 * 1_000  # the time is printed, not budgeted (budgets: bench/)


# The premium calculator ------------------------------------------------------------------------------


def _quote(http: httpx.Client, home: str, **job: object) -> dict[str, object]:
    """A quote through the API for a contractor living in ``home`` on a job of ``job``'s terms."""
    entity = http.post("/entities", json=entity_fields()).json()["id"]
    address = {"line1": "1 Main St", "locality": "Town", "region": home, "postalcode": "10001"}
    contractor = http.post("/contractors", json=contractor_fields(unique_email(), address=address))
    made = http.post("/jobs", json=job_fields(entity, **job))
    assert contractor.status_code == 201 and made.status_code == 201, made.text
    return {"contractor": contractor.json()["id"], "job": made.json()["id"]}


def api_quote(http: httpx.Client, home: str, coverage: list[str], **job: object) -> dict[str, object]:
    made = _quote(http, home, **job)
    quote = http.post("/quotes", json={**made, "coverage_type": coverage})
    assert quote.status_code in (200, 201), quote.text
    return dict(quote.json())


def test_the_premium_calculator_states_the_api_quotes_premium_and_creates_nothing(
    api_url: str, org: Org, session_factory: sessionmaker[Session], browser: Browser
) -> None:
    http = httpx.Client(base_url=f"{api_url}/api/v1", auth=(org.sandbox_key, ""), timeout=30)
    every = ["workers-comp", "general", "professional"]
    hourly = api_quote(
        http,
        "NY",
        every,
        category_code="jc_mYfgO5MfLoPK5fku",  # photographer
        wage=4_550,
        wage_type="hourly",
        duration_hours=37.5,
        address={"region": "TX"},
    )
    flat = api_quote(http, "CA", ["workers-comp"], wage=250_000, address={"region": "CA"})  # influencer
    quotes_before = len(http.get("/quotes", params={"limit": 100}).json())

    member = add_member(session_factory, org.id, Role.VIEWER)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    sign_in(page, api_url, member)
    page.get_by_role("link", name="Premium calculator").click()
    expect(page.get_by_role("heading", name="Premium calculator", level=1)).to_be_visible()
    page.get_by_label("Job category").select_option(label="Photographer")
    page.get_by_label("Work state").select_option(label="Texas")
    page.get_by_label("Contractor's home state").select_option(label="New York")
    page.get_by_label("Pay (dollars)").fill("45.50")
    page.get_by_label("Pay is").select_option(label="Per hour")
    page.get_by_label("Hours").fill("37.5")
    for words in ("Workers' comp", "General liability", "Professional liability"):
        page.get_by_label(words).check()
    page.get_by_role("button", name="Calculate premium", exact=True).click()
    expect(page.get_by_role("heading", name=f"Premium: {money(hourly['premium_due'])}")).to_be_visible()
    rates = page.get_by_role("table", name="Rates by coverage")
    expect(rates.get_by_role("row", name=re.compile("^General liability"))).to_contain_text("New York")
    expect(rates.get_by_role("row", name=re.compile("^Workers' comp"))).to_contain_text("Texas")
    expect(page.get_by_text("The same premium a quote for this engagement would show.")).to_be_visible()
    expect(page.get_by_text("through the API")).to_have_count(0)  # staff words, not a developer's
    readme_screenshot(page, "premium-calculator")

    page.get_by_label("Work state").select_option(label="Ohio")
    page.get_by_role("button", name="Calculate premium", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("Workers' comp for work in Ohio is written only by")

    page.get_by_label("Start from a job").select_option(label="Spring campaign · Texas · $45.50")
    page.get_by_role("button", name="Use this job").click()
    expect(page.get_by_label("Job category")).to_have_value("photographer")
    expect(page.get_by_label("Hours")).to_have_value("37.5")
    page.get_by_label("Contractor's home state").select_option(label="New York")
    for words in ("Workers' comp", "General liability", "Professional liability"):
        page.get_by_label(words).check()
    page.get_by_role("button", name="Calculate premium", exact=True).click()
    expect(page.get_by_role("heading", name=f"Premium: {money(hourly['premium_due'])}")).to_be_visible()

    elsewhere = make_org(session_factory, "Elsewhere Platform")
    theirs = httpx.Client(base_url=f"{api_url}/api/v1", auth=(elsewhere.sandbox_key, ""), timeout=30)
    their_entity = theirs.post("/entities", json=entity_fields()).json()["id"]
    their_job = theirs.post("/jobs", json=job_fields(their_entity, wage=777_700)).json()["id"]
    page.goto(f"{api_url}/dashboard/premium-calculator?job={their_job}")
    expect(page.get_by_role("alert")).to_have_text("That job was not found: choose another one.")
    expect(page.get_by_label("Pay (dollars)")).to_have_value("")  # nothing of another organization's job
    expect(page.get_by_label("Start from a job").locator("option", has_text="$7,777.00")).to_have_count(0)

    lines = [
        "job_category,work_state,home_state,coverage,pay,pay_type,hours,start_date,end_date",
        "photographer,TX,NY,workers' comp; general liability; professional liability,45.50,per hour,37.5,,",
        'Spokesperson / Influencer,California,,workers-comp,"2,500",flat fee,,,',
        "photographer,OH,OH,workers' comp,100,flat fee,,,",
        "astronaut,CA,CA,general,100,flat fee,,,",
        "photographer,CA,CA,general,lots,flat fee,,,",
        "photographer,CA,CA,general,100,flat fee,,2020-01-01,",
        '"=HYPERLINK(""http://evil.example"")",CA,CA,general,100,flat fee,,,',
    ]
    page.get_by_label("CSV file").set_input_files(
        files=[{"name": "engagements.csv", "mimeType": "text/csv", "buffer": "\n".join(lines).encode()}]
    )
    page.get_by_role("button", name="Calculate premiums").click()
    total = money(int(hourly["premium_due"]) + int(flat["premium_due"]))  # type: ignore[call-overload]
    expect(page.get_by_role("status")).to_have_text(
        f"2 engagements priced, {total} in premium in all; 5 could not be priced (why is in each row)."
    )
    with page.expect_download() as downloaded:
        page.get_by_role("link", name="Download the results (CSV)").click()
    rows = list(csv.DictReader(io.StringIO(Path(downloaded.value.path()).read_text())))
    assert [r["premium"] for r in rows[:2]] == [
        f"{int(q['premium_due']) / 100:.2f}"  # type: ignore[call-overload]
        for q in (hourly, flat)
    ]
    assert rows[0]["estimated_pay"] == f"{int(hourly['estimated_gross_pay']) / 100:.2f}"  # type: ignore[call-overload]
    problems = [r["problem"] for r in rows[2:]]
    assert problems[0].startswith("Workers' comp for work in Ohio is written only by the state fund")
    assert problems[1].startswith("“astronaut” is not one of your organization's job categories")
    assert problems[2] == "Write the pay in dollars, e.g. 1200 or 1,200.50."
    assert problems[3] == "The start date is in the past: coverage starts today or later."
    assert rows[6]["job_category"] == '\'=HYPERLINK("http://evil.example")'  # a spreadsheet shows it as text
    assert len(http.get("/quotes", params={"limit": 100}).json()) == quotes_before  # nothing created

    too_many = "\n".join([lines[0]] + [lines[2]] * 5_001).encode()
    page.get_by_label("CSV file").set_input_files(
        files=[{"name": "big.csv", "mimeType": "text/csv", "buffer": too_many}]
    )
    page.get_by_role("button", name="Calculate premiums").click()
    expect(page.get_by_role("alert")).to_have_text(
        "The file has more than 5,000 engagements: split it and calculate each part."
    )


# Job codes --------------------------------------------------------------------------------------------


def catalog_rate(category: str, state: str, coverage: str) -> str:
    with RATES.open() as handle:
        for row in csv.DictReader(handle):
            if (row["category"], row["state"], row["coverage_type"]) == (category, state, coverage):
                return money(
                    int(row["net_rate"]) + int(row["stamping_fee"]) + int(row["risk_purchasing_group_fee"])
                )
    raise AssertionError("no such rate")


def test_the_job_codes_page_lists_each_codes_rates_by_state_filtered_by_state_and_words(
    api_url: str, org: Org, session_factory: sessionmaker[Session], browser: Browser
) -> None:
    member = add_member(session_factory, org.id, Role.VIEWER)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    sign_in(page, api_url, member)
    page.get_by_role("link", name="Job codes").click()
    expect(page.get_by_role("heading", name="Job codes", level=1)).to_be_visible()
    photographer = page.get_by_role("table", name="Photographer: rates per $100 of pay, by state")
    expect(photographer.get_by_role("row", name=re.compile("^Texas"))).to_contain_text(
        catalog_rate("photographer", "TX", "workers-comp")
    )

    page.get_by_label("Code or description").fill("PHOTO")
    page.get_by_label("State").select_option(label="Ohio")
    page.get_by_role("button", name="Show").click()
    table = page.get_by_role("table", name="Rates in Ohio, per $100 of pay")
    expect(table.get_by_role("row")).to_have_count(2)  # the header and the photographer
    row = table.get_by_role("row", name=re.compile("^Photographer"))
    gl = catalog_rate("photographer", "OH", "general")
    expect(row.get_by_role("cell")).to_have_text(
        ["photographer", "State fund only", re.compile(f"^{re.escape(gl)}"),
         catalog_rate("photographer", "OH", "professional")]
    )  # fmt: skip
    readme_screenshot(page, "job-codes")

    page.get_by_label("Code or description").fill("no such work")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_text("No job code matches “no such work”.")).to_be_visible()
