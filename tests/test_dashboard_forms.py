"""The dashboard's forms and lists in its users' words, through a real server and Chromium: contractors and
jobs picked by name or email as one types (and resolved by name without the script, an ambiguous or unknown
name answered with the choices), filters by location, job type and insurance status kept in the link, pages
that update themselves while an assignment is under way, and a likely duplicate assignment that is created
only once confirmed. And the attack: a search or filter never shows another organization's or environment's
contractors, jobs or assignments."""

import re
import time
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from db.models import Assignment
from domain.dates import DAY
from domain.roles import Role
from domain.statuses import AssignmentStatus
from notifications.render import money
from tests.dashboard_engagements import api, billing_contact
from tests.dashboard_support import add_member, post_form, sign_in, signed_in
from tests.support import Org, contractor_fields, entity_fields, job_fields, make_org, unique_email
from tests.test_assignments_api import _opt_in

PHOTOGRAPHER = "jc_mYfgO5MfLoPK5fku"  # data/job_categories.json: "photographer"
NY = {"line1": "1 Broadway", "locality": "New York", "region": "NY", "postalcode": "10004"}


def _day(offset: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(time.time() + offset * DAY))


def _contractor(http: httpx.Client, first: str, last: str, **fields: Any) -> dict[str, Any]:
    body = contractor_fields(unique_email(first.lower()), first_name=first, last_name=last, **fields)
    made = http.post("/contractors", json=body)
    assert made.status_code == 201, made.text
    return made.json()


def _job(http: httpx.Client, name: str, **fields: Any) -> str:
    entity = http.post("/entities", json=entity_fields(name=f"{name} Co")).json()["id"]
    made = http.post("/jobs", json=job_fields(entity, name=name, **fields))
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def _assignment(http: httpx.Client, contractor: str, job: str, **fields: Any) -> dict[str, Any]:
    body = {"contractor": contractor, "job": job, "coverage_type": ["workers-comp"], **fields}
    made = http.post("/assignments", json=body)
    assert made.status_code == 201, made.text
    return made.json()


def _remit(http: httpx.Client, factory: sessionmaker[Session], org: Org, first: str, last: str) -> str:
    """A contractor whose premium the organization remits, with a general opt-in on file in CA: an
    assignment for them binds at once (once a worker runs it)."""
    billing_contact(http, org)
    contractor = _contractor(http, first, last, withhold_premium=True)["id"]
    _opt_in(factory, org, contractor, "CA")
    return str(contractor)


def _assignments_of(factory: sessionmaker[Session], contractor: str) -> int:
    with factory() as session:
        return session.scalar(
            select(func.count()).select_from(Assignment).where(Assignment.contractor_id == contractor)
        )


def _new_assignment(page: Page) -> Any:
    return page.get_by_role("region", name="New assignment")


def test_an_operator_picks_the_contractor_and_job_by_name_as_they_type(
    api_url: str, org: Org, session_factory: sessionmaker[Session], browser: Browser
) -> None:
    with api(api_url, org) as http:
        contractor = _remit(http, session_factory, org, "Marisol", "Quintero")
        _remit(http, session_factory, org, "Tomas", "Berg")
        job = _job(http, "Harbor cleanup")
        _job(http, "Warehouse inventory")
    operator = add_member(session_factory, org.id, Role.OPERATOR)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    sign_in(page, api_url, operator)
    page.goto(f"{api_url}/dashboard/assignments")
    form = _new_assignment(page)
    form.get_by_role("combobox", name="Contractor").press_sequentially("quint")
    suggestion = page.get_by_role("option", name=re.compile("Marisol Quintero"))
    expect(suggestion).to_be_visible()
    expect(page.get_by_role("option", name=re.compile("Tomas Berg"))).to_have_count(0)
    suggestion.click()
    expect(form.get_by_role("combobox", name="Contractor")).to_have_value(re.compile(r"^Marisol Quintero <"))
    job_field = form.get_by_role("combobox", name="Job")
    job_field.press_sequentially("harb")
    expect(page.get_by_role("option", name=re.compile("Harbor cleanup"))).to_be_visible()
    job_field.press("ArrowDown")  # and by keyboard: the first match, then Enter picks it (sends nothing)
    job_field.press("Enter")
    expect(job_field).to_have_value("Harbor cleanup")
    expect(form.get_by_role("option")).to_have_count(0)  # the list closed
    form.get_by_label("Workers' comp").check()
    form.get_by_role("button", name="Create assignment").click()
    expect(page.get_by_role("status")).to_have_text("Created.")
    expect(page.get_by_role("link", name="Marisol Quintero")).to_be_visible()
    assignment_id = page.url.split("/dashboard/assignments/", 1)[1].split("?")[0]
    page.close()
    with api(api_url, org) as http:
        made = http.get(f"/assignments/{assignment_id}").json()
    assert (made["contractor"], made["job"]) == (contractor, job)


def test_without_the_script_a_typed_name_is_resolved_and_an_ambiguous_one_lists_the_choices(
    api_url: str, org: Org, session_factory: sessionmaker[Session]
) -> None:
    with api(api_url, org) as http:
        lee = _remit(http, session_factory, org, "Sam", "Lee")
        leeds = _remit(http, session_factory, org, "Sam", "Leeds")
        job = _job(http, "Pier painting")
    operator = add_member(session_factory, org.id, Role.OPERATOR)
    with signed_in(api_url, operator) as client:
        form = {"job": "pier painting", "bind": "true", "coverage_type": "workers-comp"}
        several = post_form(
            client, "/dashboard/assignments", "/dashboard/assignments", {**form, "contractor": "sam le"}
        )
        assert several.status_code == 400
        said = several.text.replace("&lt;", "<").replace("&gt;", ">")
        assert "Several contractors match “sam le”" in said
        assert "Sam Lee <" in said and "Sam Leeds <" in said
        assert f'name="contractor_choice" value="{lee}"' in several.text
        unknown = post_form(
            client, "/dashboard/assignments", "/dashboard/assignments", {**form, "contractor": "Nobody"}
        )
        assert unknown.status_code == 400 and "No contractor matches “Nobody”" in unknown.text
        assert _assignments_of(session_factory, lee) == _assignments_of(session_factory, leeds) == 0

        ticked = {**form, "contractor": "sam le", "contractor_choice": leeds}
        made = post_form(client, "/dashboard/assignments", "/dashboard/assignments", ticked)
        assert made.status_code == 303, made.text
        by_name = {**form, "contractor": "Sam Lee", "effective_date": _day(3)}  # the whole name: one match
        assert (
            post_form(client, "/dashboard/assignments", "/dashboard/assignments", by_name).status_code == 303
        )
    with api(api_url, org) as http:
        assert [a["job"] for a in http.get("/assignments", params={"contractor": leeds}).json()] == [job]
        assert [a["job"] for a in http.get("/assignments", params={"contractor": lee}).json()] == [job]
        twin = _job(http, "Pier painting")  # another job of the same name, for another entity
    with signed_in(api_url, operator) as client:
        same_name = {**form, "contractor": "Sam Leeds", "effective_date": _day(60)}
        both = post_form(client, "/dashboard/assignments", "/dashboard/assignments", same_name)
        assert both.status_code == 400 and "Several jobs match “pier painting”" in both.text
        assert "Pier painting (Pier painting Co)" in both.text  # told apart by their entity
        assert (
            f'name="job_choice" value="{twin}"' in both.text
            and f'name="job_choice" value="{job}"' in both.text
        )
        ticked = post_form(
            client, "/dashboard/assignments", "/dashboard/assignments", {**same_name, "job_choice": twin}
        )
        assert ticked.status_code == 303
    with api(api_url, org) as http:
        jobs = [a["job"] for a in http.get("/assignments", params={"contractor": leeds}).json()]
        assert jobs == [twin, job]
        ann = _remit(http, session_factory, org, "Ann", "Wu")
    with signed_in(api_url, operator) as client:  # Sam Lee was picked, then the name typed over (no script)
        typed_over = {**form, "job_id": job, "contractor": "Ann Wu", "contractor_id": lee}
        made = post_form(
            client,
            "/dashboard/assignments",
            "/dashboard/assignments",
            {**typed_over, "effective_date": _day(5)},
        )
        assert made.status_code == 303, made.text
    assert _assignments_of(session_factory, ann) == 1  # for whom the field names, not the stale pick
    assert _assignments_of(session_factory, lee) == 1


def test_filters_by_location_job_type_and_insurance_status_are_kept_in_the_link(
    api_url: str, org: Org, session_factory: sessionmaker[Session], browser: Browser
) -> None:
    with api(api_url, org) as http:
        nyc = _contractor(http, "Nadia", "Okafor", address=NY)["id"]
        sf = _contractor(http, "Chris", "Alvarez")["id"]
        shoot = _job(http, "Gallery shoot", category_code=PHOTOGRAPHER, address={"region": "NY"})
        post = _job(http, "Launch post")
        in_ny = _assignment(http, nyc, shoot, bind=False)["id"]
        in_ca = _assignment(http, sf, post, bind=False)["id"]
    member = add_member(session_factory, org.id, Role.VIEWER)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    sign_in(page, api_url, member)
    page.goto(f"{api_url}/dashboard/contractors")
    search = page.get_by_role("search", name="Search contractors")
    search.get_by_label("Location").select_option(label="New York")
    search.get_by_label("Job type").select_option(label="Photographer")
    search.get_by_label("Insurance status").select_option(label="Not insured")
    search.get_by_role("button", name="Search").click()
    expect(page.get_by_role("link", name="Nadia Okafor")).to_be_visible()
    expect(page.get_by_role("link", name="Chris Alvarez")).to_have_count(0)
    shared = page.url
    assert parse_qs(urlparse(shared).query) == {
        "state": ["NY"],
        "job_type": [PHOTOGRAPHER],
        "status": ["uncovered"],
    }

    page.goto(f"{api_url}/dashboard/assignments")
    filters = page.get_by_role("search", name="Filter assignments")
    filters.get_by_role("combobox", name="Contractor").press_sequentially("alvar")
    page.get_by_role("option", name=re.compile("Chris Alvarez")).click()
    filters.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("link", name=in_ca)).to_be_visible()
    expect(page.get_by_role("link", name=in_ny)).to_have_count(0)
    by_name = page.url
    assert parse_qs(urlparse(by_name).query)["contractor"][0].startswith("Chris Alvarez <")

    page.goto(f"{api_url}/dashboard/assignments")
    filters.get_by_label("Location").select_option(label="New York")
    filters.get_by_label("Job type").select_option(label="Photographer")
    filters.get_by_label("Insurance status").select_option(label="Recorded without coverage")
    filters.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("link", name=in_ny)).to_be_visible()
    expect(page.get_by_role("link", name=in_ca)).to_have_count(0)
    by_place = page.url
    page.close()

    other = browser.new_page()  # a colleague opens the shared links: the same filtered pages
    sign_in(other, api_url, add_member(session_factory, org.id, Role.VIEWER))
    other.goto(shared)
    expect(other.get_by_role("link", name="Nadia Okafor")).to_be_visible()
    expect(other.get_by_role("link", name="Chris Alvarez")).to_have_count(0)
    expect(other.get_by_label("Location")).to_have_value("NY")
    other.goto(by_name)
    expect(other.get_by_role("link", name=in_ca)).to_be_visible()
    expect(other.get_by_role("link", name=in_ny)).to_have_count(0)
    other.goto(by_place)
    expect(other.get_by_role("link", name=in_ny)).to_be_visible()
    expect(other.get_by_role("link", name=in_ca)).to_have_count(0)
    other.close()

    with signed_in(api_url, member) as client:  # and billing's contractor filter, by name
        billing = client.get("/dashboard/billing", params={"contractor": "Nadia Okafor"})
        assert billing.status_code == 200 and 'value="Nadia Okafor &lt;' in billing.text


def test_an_assignments_page_updates_itself_without_losing_what_was_typed(
    api_url: str, org: Org, session_factory: sessionmaker[Session], browser: Browser, worker: None
) -> None:
    """The worker runs, but the contractor has no application yet, so the assignment waits, being set up,
    until the test does what its workflow would (store the status and what it collected) while the page
    is open."""
    with api(api_url, org) as http:
        billing_contact(http, org)
        contractor = _contractor(http, "Ivy", "Marsh", withhold_premium=True)["id"]
        job = _job(http, "Mural restoration")
        made = _assignment(http, contractor, job)
    operator = add_member(session_factory, org.id, Role.OPERATOR)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    sign_in(page, api_url, operator)
    page.goto(f"{api_url}/dashboard/assignments/{made['id']}")
    expect(page.locator("#assignment-status")).to_have_text("Waiting on the contractor's application")
    expect(page.locator("#collected")).to_have_text(money(0))
    page.get_by_label("New end date", exact=True).fill(
        _day(60)
    )  # half-way through a form when the change comes

    contractor_page = browser.new_page(viewport={"width": 1280, "height": 900})
    sign_in(contractor_page, api_url, operator)
    contractor_page.goto(f"{api_url}/dashboard/contractors/{contractor}")
    expect(contractor_page.locator(f"#assignment-status-{made['id']}")).not_to_have_text("Covered")

    with session_factory() as session:
        session.execute(
            update(Assignment)
            .where(Assignment.id == made["id"])
            .values(status=AssignmentStatus.ACTIVE, charged=made["premium"], charge_due_at=None)
        )
        session.commit()
    expect(page.locator("#assignment-status")).to_have_text("Covered", timeout=15_000)
    expect(page.locator("#collected")).to_have_text(money(made["premium"]))
    expect(page.locator("#live-news")).to_contain_text("Status: Covered")
    expect(page.get_by_label("New end date", exact=True)).to_have_value(_day(60))
    expect(contractor_page.locator(f"#assignment-status-{made['id']}")).to_have_text(
        "Covered", timeout=15_000
    )
    page.close()
    contractor_page.close()


def test_a_likely_duplicate_assignment_is_created_only_once_confirmed(
    api_url: str, org: Org, session_factory: sessionmaker[Session], browser: Browser
) -> None:
    with api(api_url, org) as http:
        contractor = _remit(http, session_factory, org, "Rafael", "Duarte")
        job = _job(http, "Dock repairs")
        first = _assignment(http, contractor, job, effective_date=_day(2), end_date=_day(20))
    operator = add_member(session_factory, org.id, Role.OPERATOR)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    sign_in(page, api_url, operator)
    page.goto(f"{api_url}/dashboard/assignments")
    form = _new_assignment(page)
    form.get_by_role("combobox", name="Contractor").press_sequentially("duarte")
    page.get_by_role("option", name=re.compile("Rafael Duarte")).click()
    form.get_by_role("combobox", name="Job").press_sequentially("dock")
    page.get_by_role("option", name=re.compile("Dock repairs")).click()
    form.get_by_label("Start date").fill(_day(10))
    form.get_by_label("Workers' comp").check()
    form.get_by_role("button", name="Create assignment").click()

    warning = page.get_by_role("alert").filter(has_text="already exists")
    expect(warning).to_be_visible()
    expect(warning.get_by_role("link", name=re.compile("Rafael Duarte · Dock repairs"))).to_have_attribute(
        "href", f"/dashboard/assignments/{first['id']}"
    )
    assert _assignments_of(session_factory, contractor) == 1  # nothing created, nothing charged
    expect(form.get_by_label("Start date")).to_have_value(_day(10))
    form.get_by_role("button", name="Create it anyway").click()
    expect(page.get_by_role("status")).to_have_text("Created.")
    assert _assignments_of(session_factory, contractor) == 2
    page.close()

    with api(api_url, org) as http:  # the API's behaviour is unchanged: it creates as asked
        again = http.post(
            "/assignments", json={"contractor": contractor, "job": job, "effective_date": _day(2)}
        )
        assert again.status_code == 201
    later = _day(45)  # after the first one ends: not a duplicate, created at once
    with signed_in(api_url, operator) as client:
        fields = {"contractor_id": contractor, "job_id": job, "effective_date": later, "bind": "true"}
        fields |= {"contractor": "Rafael Duarte", "job": "Dock repairs"}
        assert (
            post_form(client, "/dashboard/assignments", "/dashboard/assignments", fields).status_code == 303
        )


def test_search_and_filters_never_show_another_organizations_or_environments_records(
    api_url: str, org: Org, session_factory: sessionmaker[Session]
) -> None:
    other = make_org(session_factory, "Other Platform")
    with api(api_url, other) as http:
        theirs = _contractor(http, "Zelda", "Marchetti", address=NY)
        their_job = _job(http, "Zelda shoot", category_code=PHOTOGRAPHER)
        their_assignment = _assignment(http, theirs["id"], their_job, bind=False)["id"]
    with httpx.Client(base_url=f"{api_url}/api/v1", auth=(org.production_key, ""), timeout=60) as live:
        production = _contractor(live, "Zelda", "Prodman", address=NY)
        production_job = _job(live, "Zelda live job")
    with api(api_url, org) as http:
        mine = _contractor(http, "Zelda", "Mine")["id"]
        _contractor(http, "Percent", "Sign")
    operator = add_member(session_factory, org.id, Role.OPERATOR)
    with signed_in(api_url, operator) as client:
        found = client.get("/dashboard/pick/contractors", params={"q": "zelda"}).json()
        assert [c["id"] for c in found] == [mine]
        for q in (theirs["email"], production["email"], "Marchetti", "Prodman"):
            assert client.get("/dashboard/pick/contractors", params={"q": q}).json() == []
        assert client.get("/dashboard/pick/jobs", params={"q": "zelda"}).json() == []
        for wildcard in ("%", "_", "%a%"):  # matched literally, not as LIKE wildcards
            assert client.get("/dashboard/pick/contractors", params={"q": wildcard}).json() == []
        assert len(client.get("/dashboard/pick/contractors", params={"q": "e" * 5000}).json()) == 0

        listed = client.get("/dashboard/contractors", params={"state": "NY", "job_type": PHOTOGRAPHER}).text
        assert theirs["id"] not in listed and production["id"] not in listed
        for params in (
            {"contractor_id": theirs["id"], "contractor": "x"},
            {"contractor": theirs["email"]},
            {"job_id": their_job, "job": "Zelda shoot"},
            {"state": "NY", "job_type": PHOTOGRAPHER},
        ):
            page = client.get("/dashboard/assignments", params=params).text
            assert their_assignment not in page and "Marchetti" not in page, params
        bills = client.get("/dashboard/billing", params={"contractor_id": theirs["id"], "contractor": "x"})
        assert "Marchetti" not in bills.text and theirs["id"] not in bills.text
        form = {"contractor": theirs["email"], "job": "Zelda shoot", "bind": "true"}
        refused = post_form(client, "/dashboard/assignments", "/dashboard/assignments", form)
        assert refused.status_code == 400 and "No contractor matches" in refused.text
        assert "Marchetti" not in refused.text
        picked = {**form, "contractor": "Zelda Prodman", "contractor_id": production["id"]}
        picked |= {"job": "Zelda live job", "job_id": production_job}
        refused = post_form(client, "/dashboard/assignments", "/dashboard/assignments", picked)
        assert refused.status_code == 400 and production["id"] not in refused.text
    with session_factory() as session:
        made = session.scalar(
            select(func.count()).select_from(Assignment).where(Assignment.organization_id == org.id)
        )
    assert made == 0
