"""The dashboard's insurance requirements page: compliance staff make and edit a requirement in Chromium
(by label), see it in words, and get the API's messages for bad input; a viewer only reads; another
organization's requirement is not found."""

import html
import re

import httpx
from playwright.sync_api import Browser, expect
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from db.models import AuditEntry
from domain.roles import Role
from tests.accessibility import assert_accessible
from tests.dashboard_support import add_member, form_token, post_form, readme_screenshot, sign_in, signed_in
from tests.support import Org, entity_fields, make_org


def api(org: Org, api_url: str, key: str | None = None) -> httpx.Client:
    return httpx.Client(base_url=f"{api_url}/api/v1", auth=(key or org.sandbox_key, ""), timeout=30)


def alert(response: httpx.Response) -> str:
    found = re.search(r'<p class="error" role="alert">([^<]*)</p>', response.text)
    assert found, response.text[:2000]
    return html.unescape(found.group(1))


def test_compliance_staff_make_and_edit_a_requirement_in_the_browser(
    api_url: str, org: Org, session_factory: sessionmaker[Session], browser: Browser
) -> None:
    with api(org, api_url) as http:
        entity = http.post("/entities", json=entity_fields(name="Acme Events")).json()["id"]
    operator = add_member(session_factory, org.id, Role.OPERATOR)
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    sign_in(page, api_url, operator)
    page.get_by_role("link", name="Insurance requirements").click()
    expect(page.get_by_role("heading", name="Insurance requirements", exact=True)).to_be_visible()
    assert_accessible(page)

    form = page.locator("form[action='/dashboard/requirements']")
    form.get_by_label("Name", exact=True).fill("Event crews")
    form.get_by_label("General liability", exact=True).check()
    form.get_by_label("General liability: each occurrence (minimum, $)").fill("1,000,000.50")
    form.get_by_label("General liability: the certificate holder named as additional insured").check()
    form.get_by_label("Each policy in force with at least a number of days left").check()
    form.get_by_label("Minimum days left").fill("30")
    form.get_by_role("textbox", name="Certificate holder").fill("Acme Events LLC")
    form.get_by_label("Acme Events").check()
    form.get_by_role("button", name="Create requirement").click()
    expect(page.get_by_role("alert")).to_have_text(
        "General liability, each occurrence: whole dollars, e.g. 1,000,000. Correct it in the form and "
        "send it again."
    )
    assert_accessible(page)
    form = page.locator("form[action='/dashboard/requirements']")
    expect(form.get_by_label("Name", exact=True)).to_have_value("Event crews")  # what was typed stays
    form.get_by_label("General liability: each occurrence (minimum, $)").fill("1,000,000")
    form.get_by_label("Workers' compensation", exact=True).check()
    form.get_by_role("button", name="Create requirement").click()
    expect(page.get_by_role("status")).to_have_text("Created.")
    expect(page.get_by_role("heading", name="Event crews")).to_be_visible()
    expect(page.get_by_text("General liability: each occurrence at least $1,000,000;")).to_be_visible()
    expect(page.get_by_text("Each policy in force with at least 30 days left.")).to_be_visible()
    readme_screenshot(page, "insurance-requirement")
    assert_accessible(page)

    edit = page.locator("form[action^='/dashboard/requirements/ir_']").first
    edit.get_by_label("Minimum days left").fill("0")
    edit.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_contain_text("The minimum days left must be at least 1")
    assert_accessible(page)
    edit = page.locator("form[action^='/dashboard/requirements/ir_']").first
    edit.get_by_label("Minimum days left").fill("45")
    edit.get_by_label("Workers' compensation: employer's liability each accident (minimum, $)").fill(
        "500,000"
    )
    edit.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")

    with api(org, api_url) as http:
        [shown] = http.get("/insurance_requirements").json()
    assert shown["name"] == "Event crews" and shown["is_default"] is True
    assert shown["coverages"] == [
        {
            "coverage": "general_liability",
            "minimum_limits": {"each_occurrence": 1_000_000},
            "additional_insured": True,
            "waiver_of_subrogation": False,
        },
        {
            "coverage": "workers_comp",
            "minimum_limits": {"el_each_accident": 500_000},
            "additional_insured": False,
            "waiver_of_subrogation": False,
        },
    ]
    assert shown["expiry"] == {"rule": "days_left", "minimum_days_left": 45}
    assert shown["certificate_holder"] == "Acme Events LLC" and shown["entity_ids"] == [entity]
    with session_factory() as session:
        audited = session.execute(
            select(AuditEntry.action, AuditEntry.actor, AuditEntry.target).where(
                AuditEntry.organization_id == org.id, AuditEntry.action.like("insurance_requirement.%")
            )
        ).all()
    assert sorted(audited) == [
        ("insurance_requirement.created", operator, shown["id"]),
        ("insurance_requirement.updated", operator, shown["id"]),
    ]
    page.close()


def form_fields(**overrides: str) -> dict[str, str]:
    return {
        "name": "Crews",
        "coverage": "auto",
        "auto.combined_single_limit": "1,000,000",
        "expiry": "in_force_today",
        **overrides,
    }


def test_a_viewer_reads_requirements_but_cannot_change_them(
    api_url: str, org: Org, session_factory: sessionmaker[Session]
) -> None:
    with api(org, api_url) as http:
        made = http.post("/insurance_requirements", json={"name": "Crews"}).json()["id"]
    viewer = add_member(session_factory, org.id, Role.VIEWER)
    with signed_in(api_url, viewer) as client:
        listing = client.get("/dashboard/requirements").text
        assert "Crews" in listing and "Create requirement" not in listing
        assert ">Save<" not in client.get(f"/dashboard/requirements/{made}").text
        token = form_token(client, "/dashboard/requirements")
        for action in (
            "/dashboard/requirements",
            f"/dashboard/requirements/{made}",
            f"/dashboard/requirements/{made}/delete",
        ):
            response = client.post(action, data={"csrf_token": token, **form_fields(name="Changed")})
            assert response.status_code == 403, action
    with api(org, api_url) as http:
        assert [r["name"] for r in http.get("/insurance_requirements").json()] == ["Crews"]


def test_another_organizations_or_environments_requirement_is_not_found(
    api_url: str, org: Org, session_factory: sessionmaker[Session]
) -> None:
    other = make_org(session_factory, "Other Platform")
    with api(other, api_url) as http:
        theirs = http.post("/insurance_requirements", json={"name": "Theirs"}).json()["id"]
    with api(org, api_url, org.production_key) as http:
        production = http.post("/insurance_requirements", json={"name": "Production"}).json()["id"]
    operator = add_member(session_factory, org.id, Role.OPERATOR)
    with signed_in(api_url, operator) as client:  # the dashboard shows sandbox first
        for requirement in (theirs, production):
            assert client.get(f"/dashboard/requirements/{requirement}").status_code == 404
            page = "/dashboard/requirements"
            edit = post_form(client, page, f"{page}/{requirement}", form_fields(name="Taken"))
            assert edit.status_code == 404
            assert post_form(client, page, f"{page}/{requirement}/delete", {}).status_code == 404
    with api(other, api_url) as http:
        assert http.get(f"/insurance_requirements/{theirs}").json()["name"] == "Theirs"
    with api(org, api_url, org.production_key) as http:
        assert http.get(f"/insurance_requirements/{production}").json()["name"] == "Production"


def test_hostile_form_values_are_refused_with_a_message_and_change_nothing(
    api_url: str, org: Org, session_factory: sessionmaker[Session]
) -> None:
    operator = add_member(session_factory, org.id, Role.OPERATOR)
    page = "/dashboard/requirements"
    with signed_in(api_url, operator) as client:
        for fields, words in [
            (form_fields(name="x" * 10_000), "name"),
            (
                form_fields(**{"auto.combined_single_limit": "9" * 19}),
                "combined single limit must be at most",
            ),
            (form_fields(**{"auto.combined_single_limit": "-5"}), "whole dollars"),
            (form_fields(coverage="pet_insurance"), "unknown coverage"),
            (form_fields(expiry="forever"), "is not one of the choices"),
            (form_fields(expiry="days_left", minimum_days_left="lots"), "Minimum days left"),
            (form_fields(entity_ids="en_doesnotexist0000"), "no such entity"),
            (form_fields(category_codes="jc_doesnotexist0000"), "no such job category"),
        ]:
            response = post_form(client, page, page, fields)
            assert response.status_code == 400, (fields, response.status_code)
            assert words in alert(response), alert(response)
    with api(org, api_url) as http:
        assert http.get("/insurance_requirements").json() == []


def test_the_default_is_not_deleted_while_others_remain(
    api_url: str, org: Org, session_factory: sessionmaker[Session]
) -> None:
    with api(org, api_url) as http:
        default = http.post("/insurance_requirements", json={"name": "Default"}).json()["id"]
        other = http.post("/insurance_requirements", json={"name": "Other"}).json()["id"]
    operator = add_member(session_factory, org.id, Role.OPERATOR)
    page = "/dashboard/requirements"
    with signed_in(api_url, operator) as client:
        refused = post_form(client, f"{page}/{default}", f"{page}/{default}/delete", {})
        assert refused.status_code == 409
        assert (
            alert(refused)
            == "This is the default requirement: make another one the default before deleting it"
        )
        deleted = post_form(client, f"{page}/{other}", f"{page}/{other}/delete", {})
        assert deleted.status_code == 303 and deleted.headers["location"] == f"{page}?notice=deleted"
    with api(org, api_url) as http:
        assert [r["id"] for r in http.get("/insurance_requirements").json()] == [default]
