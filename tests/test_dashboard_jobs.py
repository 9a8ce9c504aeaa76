"""The dashboard's jobs and entities: list, create and edit them (through services.jobs and
services.entities, as the API), a job's category limited to the organization's approved ones; compared with
the API's answers, in Chromium and over HTTP."""

import html
import re
import time

import httpx
import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from db.models import AuditEntry, Entity, Job
from domain.roles import Role
from services.organization import create_organization
from tests.accessibility import assert_accessible
from tests.dashboard_support import (
    add_member,
    form_token,
    post_form,
    readme_screenshot,
    sign_in,
    signed_in,
)
from tests.support import INFLUENCER, ISSUED_KEYS, Org, entity_fields, job_fields, make_org

pytestmark = pytest.mark.usefixtures("worker")
PHOTOGRAPHER = "jc_mYfgO5MfLoPK5fku"  # data/job_categories.json: "photographer"
VIDEOGRAPHER = "jc_TOh9et46awfmJZfP"  # not approved for the organizations made here


@pytest.fixture
def two_categories(session_factory: sessionmaker[Session]) -> Org:
    """An organization approved for influencers and photographers only."""
    with session_factory() as session:
        made = create_organization(session, "Creator Studio", approve_categories=[INFLUENCER, PHOTOGRAPHER])
        session.commit()
        ISSUED_KEYS.extend([made.sandbox_key, made.production_key])
        return Org(made.organization.id, made.sandbox_key, made.production_key)


def api(org: Org, api_url: str) -> httpx.Client:
    return httpx.Client(base_url=f"{api_url}/api/v1", auth=(org.sandbox_key, ""), timeout=30)


def short_email(name: str) -> str:
    return f"{name}.{time.time_ns() % 100_000}@platform.example"


def job_form(entity: str, **overrides: str) -> dict[str, str]:
    return {
        "name": "Spring campaign",
        "description": "Three sponsored posts",
        "entity": entity,
        "category_code": INFLUENCER,
        "wage": "2,500.00",
        "wage_type": "flatfee",
        "years_experience": "4",
        "duration_hours": "",
        "region": "CA",
        "locality": "Los Angeles",
        "line1": "",
        "postalcode": "",
        "withhold_premium": "",
        **overrides,
    }


def entity_form(**overrides: str) -> dict[str, str]:
    return {
        "name": "Acme Brands",
        "line1": "500 Howard St",
        "line2": "",
        "locality": "San Francisco",
        "region": "CA",
        "postalcode": "94105",
        "aggregate_limit": "2,000,000",
        "occurrence_limit": "1,000,000",
        **overrides,
    }


def created_id(response: httpx.Response, prefix: str) -> str:
    assert response.status_code == 303, response.text
    found = re.search(
        rf"/dashboard/jobs/{prefix}([A-Za-z0-9_]+)$", response.headers["location"].split("?")[0]
    )
    assert found, response.headers["location"]
    return found.group(1)


def error_of(response: httpx.Response) -> str:
    found = re.search(r'<p class="error" role="alert">(.*?)</p>', response.text, re.S)
    assert found, response.text[:2000]
    return html.unescape(found.group(1))


def test_an_operator_adds_an_entity_and_a_job_in_the_browser_choosing_only_approved_categories(
    api_url: str, two_categories: Org, session_factory: sessionmaker[Session], browser: Browser
) -> None:
    org = two_categories
    operator = add_member(session_factory, org.id, Role.OPERATOR, short_email("ops"))
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    sign_in(page, api_url, operator)
    page.get_by_role("link", name="Jobs & entities").click()
    expect(page.get_by_role("heading", name="Jobs and entities")).to_be_visible()
    assert_accessible(page)
    entity_form_ = page.locator("form[action='/dashboard/jobs/entities']")
    entity_form_.get_by_label("Name").fill("Acme Brands")
    entity_form_.get_by_label("Street").fill("500 Howard St")
    entity_form_.get_by_label("City").fill("San Francisco")
    entity_form_.get_by_label("State").select_option("CA")
    entity_form_.get_by_label("ZIP code").fill("94105")
    entity_form_.get_by_label("Aggregate limit").fill("2,000,000")
    entity_form_.get_by_label("Per-occurrence limit").fill("1,000,000")
    entity_form_.get_by_label("General liability").check()
    entity_form_.get_by_role("button", name="Create entity").click()
    expect(page.get_by_role("status")).to_have_text("Created.")
    expect(page.get_by_role("heading", name="Acme Brands")).to_be_visible()
    assert_accessible(page)

    page.goto(f"{api_url}/dashboard/jobs")
    form = page.locator("form[action='/dashboard/jobs']")
    offered = form.get_by_label("Category").locator("option").all_text_contents()
    assert offered == ["choose…", "Photographer", "Spokesperson / Influencer"]  # approved ones only
    form.get_by_label("Name").fill("Spring campaign")
    form.get_by_label("Entity").select_option(label="Acme Brands")
    form.get_by_label("Description").fill("Three sponsored posts")
    form.get_by_label("Category").select_option(label="Spokesperson / Influencer")
    form.get_by_label("Wage in dollars").fill("2,500")
    form.get_by_label("State").select_option("CA")
    form.get_by_role("button", name="Create job").click()
    expect(page.get_by_role("status")).to_have_text("Created.")
    job_id = page.url.split("/")[-1].split("?")[0]
    assert_accessible(page)

    edit = page.locator(f"form[action='/dashboard/jobs/{job_id}']")
    edit.get_by_label("Wage in dollars").fill("3,000")
    edit.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    expect(page.locator("dd[data-field=wage]")).to_have_text("$3,000.00 flat fee for the job")

    page.goto(f"{api_url}/dashboard/jobs")
    expect(page.get_by_role("link", name="Spring campaign")).to_be_visible()
    readme_screenshot(page, "jobs")
    assert_accessible(page)
    page.close()
    with api(org, api_url) as http:
        job = http.get(f"/jobs/{job_id}").json()
        entity = http.get(f"/entities/{job['entity']}").json()
    assert (job["name"], job["wage"], job["category_code"], job["address"]["region"]) == (
        "Spring campaign",
        300_000,
        INFLUENCER,
        "CA",
    )
    assert entity["coverage_limit"] == {"aggregate_limit": 200_000_000, "occurrence_limit": 100_000_000}
    assert entity["required_coverage"] == ["general"]


def test_a_job_and_an_entity_made_in_the_dashboard_are_what_the_api_shows(
    api_url: str, org: Org, session_factory: sessionmaker[Session]
) -> None:
    operator = add_member(session_factory, org.id, Role.OPERATOR)
    with signed_in(api_url, operator) as client:
        entity_id = created_id(
            post_form(
                client,
                "/dashboard/jobs",
                "/dashboard/jobs/entities",
                {**entity_form(), "required_coverage": ["general", "workers-comp"]},  # type: ignore[dict-item]
            ),
            "entities/",
        )
        job_id = created_id(
            post_form(
                client, "/dashboard/jobs", "/dashboard/jobs", job_form(entity_id, withhold_premium="yes")
            ),
            "",
        )
    with api(org, api_url) as http:
        entity = http.get(f"/entities/{entity_id}").json()
        job = http.get(f"/jobs/{job_id}").json()
        same_entity = http.post(
            "/entities",
            json={
                "name": "Acme Brands",
                "address": {
                    "line1": "500 Howard St",
                    "locality": "San Francisco",
                    "region": "CA",
                    "postalcode": "94105",
                },
                "coverage_limit": {"aggregate_limit": 200_000_000, "occurrence_limit": 100_000_000},
                "required_coverage": ["workers-comp", "general"],
            },
        ).json()
        same_job = http.post(
            "/jobs",
            json={
                **job_fields(entity_id, address={"region": "CA", "locality": "Los Angeles"}),
                "years_experience": 4,
                "withhold_premium": True,
            },
        ).json()
    ignore = {"id", "created"}
    assert {k: v for k, v in entity.items() if k not in ignore} == {
        k: v for k, v in same_entity.items() if k not in ignore
    }
    assert {k: v for k, v in job.items() if k not in ignore} == {
        k: v for k, v in same_job.items() if k not in ignore
    }
    with session_factory() as session:
        actions = set(session.scalars(select(AuditEntry.action).where(AuditEntry.organization_id == org.id)))
    assert {"entity.created", "job.created"} <= actions


def test_editing_a_job_or_an_entity_is_the_apis_put(
    api_url: str, org: Org, session_factory: sessionmaker[Session]
) -> None:
    operator = add_member(session_factory, org.id, Role.OPERATOR)
    with api(org, api_url) as http:
        entity = http.post("/entities", json=entity_fields()).json()["id"]
        job = http.post("/jobs", json=job_fields(entity)).json()["id"]
        too_low_api = http.put(f"/jobs/{job}", json={"wage": 50}).json()["message"]
        unnamed_api = http.put(f"/entities/{entity}", json={"name": None}).json()["message"]
    with signed_in(api_url, operator) as client:
        page = f"/dashboard/jobs/{job}"
        form = job_form(entity, name="Summer campaign", wage="1,200.50", region="", locality="")
        assert post_form(client, page, page, form).status_code == 303
        too_low = post_form(client, page, page, {**form, "wage": "0.50"})
        assert too_low.status_code == 400
        assert (
            error_of(too_low) == "The wage must be at least $1.00. Correct it in the form and send it again."
        )
        assert too_low_api == "wage: Input should be greater than or equal to 100"  # the API's, in cents
        entity_page = f"/dashboard/jobs/entities/{entity}"
        renamed = {**entity_form(name="Acme Brands West", aggregate_limit="", occurrence_limit="")}
        assert post_form(client, entity_page, entity_page, renamed).status_code == 303
        unnamed = post_form(client, entity_page, entity_page, {**renamed, "name": ""})
        assert unnamed.status_code == 400 and unnamed_api == "name: cannot be removed"
        assert error_of(unnamed) == "The name cannot be empty: fill it in and send the form again."
    with api(org, api_url) as http:
        edited = http.get(f"/jobs/{job}").json()
        edited_entity = http.get(f"/entities/{entity}").json()
    assert (edited["name"], edited["wage"], edited["address"], edited["years_experience"]) == (
        "Summer campaign",
        120_050,
        None,
        4,
    )
    assert edited_entity["name"] == "Acme Brands West" and edited_entity["coverage_limit"] is None
    assert edited_entity["required_coverage"] == []  # no box ticked: none required


def test_a_category_not_approved_is_refused_with_the_apis_message(
    api_url: str, two_categories: Org, session_factory: sessionmaker[Session]
) -> None:
    org = two_categories
    operator = add_member(session_factory, org.id, Role.OPERATOR)
    with api(org, api_url) as http:
        entity = http.post("/entities", json=entity_fields()).json()["id"]
        through_api = http.post("/jobs", json=job_fields(entity, category_code=VIDEOGRAPHER))
        missing_api = http.post(
            "/jobs", json={k: v for k, v in job_fields(entity).items() if k != "category_code"}
        )
    assert through_api.status_code == 400
    with signed_in(api_url, operator) as client:
        listing = client.get("/dashboard/jobs").text
        assert VIDEOGRAPHER not in listing and PHOTOGRAPHER in listing
        refused = post_form(
            client, "/dashboard/jobs", "/dashboard/jobs", job_form(entity, category_code=VIDEOGRAPHER)
        )
        assert refused.status_code == 400 and "is not approved for your organization: choose one" in error_of(
            refused
        )
        assert error_of(refused) != through_api.json()["message"]
        missing = post_form(client, "/dashboard/jobs", "/dashboard/jobs", job_form(entity, category_code=""))
        assert missing.status_code == 400 and error_of(missing).startswith(
            "Choose the job's category in the form"
        )
        assert missing_api.json()["message"].startswith("category_code: ")  # the API keeps its words
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Job).where(Job.organization_id == org.id)) == 0


def test_a_viewer_reads_jobs_but_sees_no_forms_and_cannot_change_them(
    api_url: str, org: Org, session_factory: sessionmaker[Session]
) -> None:
    viewer = add_member(session_factory, org.id, Role.VIEWER)
    with api(org, api_url) as http:
        entity = http.post("/entities", json=entity_fields()).json()["id"]
        job = http.post("/jobs", json=job_fields(entity)).json()["id"]
    with signed_in(api_url, viewer) as client:
        listing = client.get("/dashboard/jobs").text
        assert "Spring campaign" in listing and "Create job" not in listing and "Create entity" not in listing
        job_page = client.get(f"/dashboard/jobs/{job}").text
        assert "Spring campaign" in job_page and ">Save<" not in job_page
        token = form_token(client, "/dashboard/jobs")
        for action, data in [
            ("/dashboard/jobs", job_form(entity)),
            ("/dashboard/jobs/entities", entity_form()),
            (f"/dashboard/jobs/{job}", job_form(entity, name="Changed")),
            (f"/dashboard/jobs/entities/{entity}", entity_form(name="Changed")),
        ]:
            response = client.post(action, data={"csrf_token": token, **data})
            assert response.status_code == 403, action
    with api(org, api_url) as http:
        assert http.get(f"/jobs/{job}").json()["name"] == "Spring campaign"
        assert http.get(f"/entities/{entity}").json()["name"] == "Acme Brands"
        assert len(http.get("/jobs").json()) == 1


def test_another_organizations_jobs_and_entities_answer_404(
    api_url: str, org: Org, session_factory: sessionmaker[Session]
) -> None:
    operator = add_member(session_factory, org.id, Role.OPERATOR)
    other = make_org(session_factory, "Other Platform")
    with api(other, api_url) as http:
        entity = http.post("/entities", json=entity_fields()).json()["id"]
        job = http.post("/jobs", json=job_fields(entity)).json()["id"]
    with api(org, api_url) as http:
        mine = http.post("/entities", json=entity_fields(name="Mine")).json()["id"]
        theirs_api = http.post("/jobs", json=job_fields(entity)).json()["message"]
    with signed_in(api_url, operator) as client:
        assert client.get(f"/dashboard/jobs/entities/{mine}").status_code == 200  # their own is found
        assert client.get(f"/dashboard/jobs/{job}").status_code == 404
        assert client.get(f"/dashboard/jobs/entities/{entity}").status_code == 404
        edit = post_form(client, "/dashboard/jobs", f"/dashboard/jobs/{job}", job_form(entity, name="Taken"))
        assert edit.status_code == 404
        edit = post_form(
            client, "/dashboard/jobs", f"/dashboard/jobs/entities/{entity}", entity_form(name="Taken")
        )
        assert edit.status_code == 404
        with_their_entity = post_form(client, "/dashboard/jobs", "/dashboard/jobs", job_form(entity))
        assert with_their_entity.status_code == 404 and theirs_api.startswith("No such entity")
        assert error_of(with_their_entity).startswith("This entity is not one of your organization")
    with api(other, api_url) as http:
        assert http.get(f"/jobs/{job}").json()["name"] == "Spring campaign"
        assert http.get(f"/entities/{entity}").json()["name"] == "Acme Brands"


def test_a_job_form_posted_without_its_csrf_token_changes_nothing(
    api_url: str, org: Org, session_factory: sessionmaker[Session]
) -> None:
    operator = add_member(session_factory, org.id, Role.OPERATOR)
    with api(org, api_url) as http:
        entity = http.post("/entities", json=entity_fields()).json()["id"]
        job = http.post("/jobs", json=job_fields(entity)).json()["id"]
    with signed_in(api_url, operator) as client:
        assert client.get("/dashboard/jobs").status_code == 200
        forged = client.post("/dashboard/jobs", data=job_form(entity, name="Forged"))
        assert forged.status_code == 403 and "Nothing was changed" in forged.text
        forged = client.post(
            f"/dashboard/jobs/{job}", data={**job_form(entity, name="Forged"), "csrf_token": "0" * 64}
        )
        assert forged.status_code == 403
        assert client.post("/dashboard/jobs/entities", data=entity_form(name="Forged")).status_code == 403
    with session_factory() as session:
        names = set(session.scalars(select(Job.name).where(Job.organization_id == org.id)))
        entity_names = set(session.scalars(select(Entity.name).where(Entity.organization_id == org.id)))
    assert names == {"Spring campaign"} and entity_names == {"Acme Brands"}


def test_a_full_last_page_of_entities_links_to_no_empty_older_page(
    session_factory: sessionmaker[Session], api_url: str
) -> None:
    org = make_org(session_factory, "Fifty Entities")
    email = add_member(session_factory, org.id, Role.VIEWER)
    with api(org, api_url) as client:
        made = [client.post("/entities", json=entity_fields()).json()["id"] for _ in range(51)]
    with signed_in(api_url, email) as dashboard:
        first = dashboard.get("/dashboard/jobs").text
        older = re.search(r'href="(/dashboard/jobs\?entities_after=[^"]+)">Older entities<', first)
        assert older, "51 entities: a second page"
        second = dashboard.get(html.unescape(older.group(1))).text
        assert made[0] in second and made[1] not in second  # the oldest alone, newest first
        assert ">Older entities<" not in second  # the last page, full or not, offers no older one
    with api(org, api_url) as client:
        client.delete(f"/entities/{made[0]}")
    with signed_in(api_url, email) as dashboard:
        assert ">Older entities<" not in dashboard.get("/dashboard/jobs").text  # exactly 50: one page
