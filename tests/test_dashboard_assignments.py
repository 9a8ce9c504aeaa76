"""Assignments in the dashboard, through a real server, the real worker on the dev server, localstripe and
Chromium: create one from the form with the API's eligibility answer, report final pay and see the
adjustment it caused (an adjustment bill, a refund on the card), cancel, extend (with or without the email),
the Temporal UI link; roles, CSRF, another organization's ids, and the API's answers for each operation."""

import html
import re
import time
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
import ten99policy
from playwright.sync_api import Browser, expect
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from db.models import Assignment, AuditEntry, Invoice
from domain.dates import DAY
from domain.premium import premium_cents
from domain.roles import Role
from domain.statuses import AssignmentStatus
from notifications.render import money
from tests.accessibility import assert_accessible
from tests.dashboard_engagements import active, api, bills_of, remit_contractor_and_job, today
from tests.dashboard_support import add_member, post_form, readme_screenshot, sign_in, signed_in
from tests.support import Org, eventually, make_org, refunded_to
from tests.test_engagements import _apply, _assignment_of, _contractor_and_job

pytestmark = pytest.mark.usefixtures("worker")


def _day(offset: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(time.time() + offset * DAY))


def _id_from(location: str) -> str:
    found = re.search(r"/dashboard/assignments/(an_\w+)", location)
    assert found, location
    return found.group(1)


def _create(client: httpx.Client, **fields: str | list[str]) -> httpx.Response:
    return post_form(client, "/dashboard/assignments", "/dashboard/assignments", fields)  # type: ignore[arg-type]


def _movements(page_text: str) -> str:
    return page_text.split('id="h-money"', 1)[1].split('id="h-invoices"', 1)[0]


def test_an_operator_creates_an_assignment_reports_final_pay_and_sees_the_adjustment_bill(
    api_url: str, org: Org, session_factory: sessionmaker[Session], browser: Browser
) -> None:
    with api(api_url, org) as http:
        contractor, job = remit_contractor_and_job(http, session_factory, org)
    operator = add_member(session_factory, org.id, Role.OPERATOR)
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    sign_in(page, api_url, operator)
    page.get_by_role("link", name="Assignments").click()
    expect(page.get_by_role("heading", name="Assignments", exact=True)).to_be_visible()
    assert_accessible(page)
    form = page.get_by_role("region", name="New assignment")
    form.get_by_label("Contractor", exact=True).fill(contractor)
    form.get_by_label("Job", exact=True).fill(job)
    form.get_by_label("Start date").fill(_day(2))
    form.get_by_label("Workers' comp").check()
    form.get_by_role("button", name="Create assignment").click()
    expect(page.get_by_role("status")).to_have_text("Created.")
    assignment_id = _id_from(page.url)
    expect(page.locator("#eligibility")).to_contain_text("Eligible")
    assert_accessible(page)

    with api(api_url, org) as http:  # the API's answer for the assignment the form created
        from_api = http.get(f"/assignments/{assignment_id}").json()
        assert (from_api["contractor"], from_api["job"], from_api["coverage_type"]) == (
            contractor,
            job,
            ["workers-comp"],
        )
        assert from_api["eligible"]["result"] is True
        expect(page.locator("#eligibility")).to_have_text(f"Eligible: {from_api['eligible']['message']}")
        first = active(http, assignment_id)
        (bill,) = eventually(lambda: bills_of(http, contractor), timeout=30)
    page.reload()
    expect(page.locator("#premium")).to_have_text(money(first["premium"]))
    expect(page.get_by_role("link", name=bill["id"])).to_be_visible()
    link = page.get_by_role("link", name=re.compile("in the Temporal UI"))
    href = unquote(link.get_attribute("href") or "")
    assert href == (
        f'http://127.0.0.1:8233/namespaces/default/workflows?query=WorkflowId="assignment-{assignment_id}"'
    )

    page.get_by_label("Gross pay (USD)").fill("6,000")
    page.get_by_label("Pay period start").fill(today())
    page.get_by_label("Pay period end").fill(today())
    page.get_by_role("button", name="Report final pay").click()
    expect(page.get_by_role("status")).to_contain_text("Final pay reported")
    final_premium = premium_cents(600_000, first["net_rate"])
    difference = final_premium - first["premium"]
    moved = page.locator("#adjustment")
    expect(moved).to_contain_text("Premium adjustment: Spring campaign · Workers' compensation")
    expect(moved).to_contain_text(money(difference))
    page.locator("#h-money").scroll_into_view_if_needed()
    readme_screenshot(page, "assignment")
    assert_accessible(page)
    page.goto(f"{api_url}/dashboard/assignments")
    expect(page.get_by_role("link", name=assignment_id)).to_be_visible()
    readme_screenshot(page, "assignments")
    assert_accessible(page)
    page.close()

    with api(api_url, org) as http:  # the invoice and the adjustment bill, as the API shows them
        (invoice,) = http.get("/invoices", params={"contractor": contractor}).json()
        bills = bills_of(http, contractor)
        live = http.get(f"/assignments/{assignment_id}").json()
    assert (invoice["gross_pay"], invoice["premium_due"], invoice["assignment"]) == (
        600_000,
        final_premium,
        assignment_id,
    )
    adjustment = [b for b in bills if b["id"] != bill["id"]]
    assert [b["amount_due"] for b in adjustment] == [difference]
    assert (live["premium"], live["premium_collected"]) == (final_premium, final_premium)
    with session_factory() as session:
        actions = set(session.scalars(select(AuditEntry.action).where(AuditEntry.organization_id == org.id)))
    assert {"assignment.created", "invoice.created"} <= actions


def test_final_pay_below_the_charged_premium_is_refunded_to_the_card(
    client: object, api_url: str, org: Org, session_factory: sessionmaker[Session], localstripe: str
) -> None:
    """A first job paid by card when its application completed; the lower final pay reported in the
    dashboard refunds the difference, which the page shows as the refund localstripe made."""
    contractor, job = _contractor_and_job(wage=500_000)
    quote = _apply(contractor, job, localstripe)
    assignment = _assignment_of(contractor)
    operator = add_member(session_factory, org.id, Role.OPERATOR)
    path = f"/dashboard/assignments/{assignment['id']}"
    with signed_in(api_url, operator) as dashboard:
        reported = post_form(
            dashboard,
            path,
            f"{path}/final-pay",
            {"gross_pay": "1200", "paycycle_startdate": today(), "paycycle_enddate": today()},
        )
        assert reported.status_code == 303
        refund = quote["premium_due"] - premium_cents(120_000, quote["net_rate"])
        eventually(lambda: refunded_to(localstripe, assignment["id"]) == refund, timeout=30)
        shown = _movements(dashboard.get(path).text)
    assert "card charge" in shown and money(quote["premium_due"]) in shown
    assert "card refund" in shown and money(-refund) in shown
    (invoice,) = ten99policy.Invoices.list(contractor=contractor)
    assert invoice["premium_due"] == premium_cents(120_000, quote["net_rate"])


def test_the_form_refuses_what_the_api_refuses_in_its_users_words(
    api_url: str, org: Org, session_factory: sessionmaker[Session]
) -> None:
    with api(api_url, org) as http:
        contractor, job = remit_contractor_and_job(http, session_factory, org)
        requests: list[tuple[dict[str, Any], str, str]] = [
            (
                {"contractor": "cn_nope0000000000", "job": job},
                "This contractor is not one of your organization's",
                "/dashboard/contractors",
            ),
            (
                {"contractor": contractor, "job": job, "effective_date": _day(-3)},
                "The start date is in the past: choose today or a later day",
                "",
            ),
            (
                {"contractor": contractor, "job": job, "effective_date": _day(5), "end_date": _day(2)},
                "The end date is before the start date: choose an end date after the start date",
                "",
            ),
        ]
        operator = add_member(session_factory, org.id, Role.OPERATOR)
        with signed_in(api_url, operator) as dashboard:
            for body, words, link in requests:
                from_api = http.post("/assignments", json=body)
                refused = _create(dashboard, **body, bind="true")
                assert refused.status_code == from_api.status_code, body
                shown = html.unescape(refused.text)
                assert words in shown and from_api.json()["message"] not in shown, body
                assert f'href="{link}"' in refused.text or not link, body
            not_bound = _create(dashboard, contractor=contractor, job=job)  # "Bind coverage now" unticked
            assert not_bound.status_code == 303
            made = http.get(f"/assignments/{_id_from(not_bound.headers['location'])}").json()
            assert (made["coverage_path"], made["eligible"]["result"]) == ("not_bound", False)
            shown = dashboard.get(not_bound.headers["location"]).text
            assert f"Not eligible now</strong>: {made['eligible']['message']}" in shown.replace("&#39;", "'")
            final_pay = {"gross_pay": "100", "paycycle_startdate": today(), "paycycle_enddate": today()}
            path = not_bound.headers["location"].split("?")[0]
            refused = post_form(dashboard, path, f"{path}/final-pay", final_pay)
            with session_factory() as session:  # its coverage period over, as the workflow records it
                session.execute(
                    update(Assignment)
                    .where(Assignment.id == _id_from(path))
                    .values(status=AssignmentStatus.EXPIRED)
                )
                session.commit()
            not_extended = post_form(dashboard, path, f"{path}/extend", {"end_date": _day(40)})
        from_api = http.post(
            "/invoices",
            json={
                "contractor": contractor,
                "job": job,
                "gross_pay": 10_000,
                "paycycle_startdate": today(),
                "paycycle_enddate": today(),
            },
        )
    assert (refused.status_code, from_api.status_code) == (400, 400)
    shown = html.unescape(refused.text)
    assert "Final pay can be reported only for an assignment with coverage" in shown
    assert from_api.json()["message"] not in shown and 'href="/dashboard/assignments#h-new"' in refused.text
    said = html.unescape(not_extended.text)  # its status in the words of the assignment lists, not the API's
    assert not_extended.status_code == 400
    assert "This assignment's status is \u201cEnded\u201d: only an upcoming or active" in said, said
    assert "is expired" not in said
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Invoice).where(Invoice.job_id == job)) == 0


def test_cancel_and_extend_from_the_dashboard_as_the_api_does(
    api_url: str, org: Org, session_factory: sessionmaker[Session]
) -> None:
    with api(api_url, org) as http:
        contractor, job = remit_contractor_and_job(http, session_factory, org)
        operator = add_member(session_factory, org.id, Role.OPERATOR)
        with signed_in(api_url, operator) as dashboard:
            made = _create(
                dashboard,
                contractor=contractor,
                job=job,
                effective_date=_day(3),
                coverage_type="workers-comp",
                bind="true",
            )
            assignment_id = _id_from(made.headers["location"])
            path = f"/dashboard/assignments/{assignment_id}"
            before = active(http, assignment_id)

            quiet_end = before["end_date"] + 5 * DAY
            extended = post_form(
                dashboard,
                path,
                f"{path}/extend",
                {"end_date": time.strftime("%Y-%m-%d", time.gmtime(quiet_end))},
            )
            assert extended.status_code == 303
            after_quiet = http.get(f"/assignments/{assignment_id}").json()
            announced_end = after_quiet["end_date"] + 2 * DAY
            day = time.strftime("%Y-%m-%d", time.gmtime(announced_end))
            assert (
                post_form(
                    dashboard, path, f"{path}/extend", {"end_date": day, "send_email": "true"}
                ).status_code
                == 303
            )
            after = http.get(f"/assignments/{assignment_id}").json()
            assert after["end_date"] == announced_end - announced_end % DAY
            emails = http.get("/emails", params={"limit": 100}).json()
            extensions = [
                e
                for e in emails
                if e["kind"] == "coverage_extended" and e["related"].get("assignment") == assignment_id
            ]
            assert len(extensions) == 1  # the first extension asked for no email

            shorter = post_form(dashboard, path, f"{path}/extend", {"end_date": _day(4)})
            from_api = http.post("/assignments/extend", json={"job_id": job, "end_date": _day(4)})
            assert (shorter.status_code, from_api.status_code) == (400, 400)
            assert "Coverage cannot be shortened: choose an end date after" in shorter.text
            assert from_api.json()["message"] not in shorter.text  # the API's own words

            cancelled = post_form(dashboard, path, f"{path}/cancel", {"reason": "contractor_request"})
            assert cancelled.status_code == 303
            shown = http.get(f"/assignments/{assignment_id}").json()
            assert (shown["status"], shown["cancelled"], shown["cancellation_reason"]) == (
                "cancelled",
                True,
                "contractor_request",
            )
            page = dashboard.get(path).text
            assert f"{path}/cancel" not in page and f"{path}/extend" not in page
            again = post_form(dashboard, path, f"{path}/cancel", {"reason": "other"})
            from_api = http.post("/assignments/cancel", json={"job_id": job, "reason": "other"})
            assert (again.status_code, from_api.status_code) == (404, 404)
            assert "This job has no current assignment (it was cancelled or replaced)" in again.text
            assert from_api.json()["message"].replace("'", "&#39;") not in again.text
            listed = dashboard.get("/dashboard/assignments", params={"status": "cancelled", "job": job}).text
            assert assignment_id in listed
            assert (
                assignment_id
                not in dashboard.get("/dashboard/assignments", params={"status": "active", "job": job}).text
            )


def test_a_viewer_sees_no_assignment_forms_and_changes_nothing(
    api_url: str, org: Org, session_factory: sessionmaker[Session]
) -> None:
    with api(api_url, org) as http:
        contractor, job = remit_contractor_and_job(http, session_factory, org)
        made = http.post(
            "/assignments", json={"contractor": contractor, "job": job, "effective_date": _day(3)}
        )
        assignment = active(http, made.json()["id"])
    viewer = add_member(session_factory, org.id, Role.VIEWER)
    path = f"/dashboard/assignments/{assignment['id']}"
    with signed_in(api_url, viewer) as client:
        listed, shown = client.get("/dashboard/assignments").text, client.get(path).text
        assert assignment["id"] in listed and "Create assignment" not in listed
        assert "Eligible" in shown
        for action in ("cancel", "extend", "final-pay"):
            assert f"{path}/{action}" not in shown
        attempts = [
            ("/dashboard/assignments", {"contractor": contractor, "job": job, "bind": "true"}),
            (f"{path}/cancel", {"reason": "other"}),
            (f"{path}/extend", {"end_date": _day(60)}),
            (
                f"{path}/final-pay",
                {"gross_pay": "100", "paycycle_startdate": today(), "paycycle_enddate": today()},
            ),
        ]
        for action, data in attempts:
            response = post_form(client, path, action, data)
            assert response.status_code == 403 and "Not allowed" in response.text, action
    with api(api_url, org) as http:
        after = http.get(f"/assignments/{assignment['id']}").json()
        assert (after["status"], after["end_date"]) == ("active", assignment["end_date"])
        assert http.get("/invoices", params={"contractor": contractor}).json() == []
        assert len(http.get("/assignments", params={"contractor": contractor}).json()) == 1


def test_an_assignment_form_posted_without_its_csrf_token_changes_nothing(
    api_url: str, org: Org, session_factory: sessionmaker[Session]
) -> None:
    with api(api_url, org) as http:
        contractor, job = remit_contractor_and_job(http, session_factory, org)
    operator = add_member(session_factory, org.id, Role.OPERATOR)
    with signed_in(api_url, operator) as client:
        forged = client.post(
            "/dashboard/assignments", data={"contractor": contractor, "job": job, "bind": "true"}
        )
    assert forged.status_code == 403 and "Nothing was changed" in forged.text
    with session_factory() as session:
        assert (
            session.scalar(select(func.count()).select_from(Assignment).where(Assignment.job_id == job)) == 0
        )


def test_another_organizations_assignment_is_not_found(
    api_url: str, org: Org, session_factory: sessionmaker[Session]
) -> None:
    other = make_org(session_factory, "Other Platform")
    with api(api_url, other) as http:
        contractor, job = remit_contractor_and_job(http, session_factory, other)
        made = http.post(
            "/assignments", json={"contractor": contractor, "job": job, "effective_date": _day(3)}
        )
        theirs = active(http, made.json()["id"])
    operator = add_member(session_factory, org.id, Role.OPERATOR)
    path = f"/dashboard/assignments/{theirs['id']}"
    with signed_in(api_url, operator) as client:
        assert client.get(path).status_code == 404
        for action, data in [
            ("cancel", {"reason": "other"}),
            ("extend", {"end_date": _day(60)}),
            ("final-pay", {"gross_pay": "100", "paycycle_startdate": today(), "paycycle_enddate": today()}),
        ]:
            response = post_form(client, "/dashboard/assignments", f"{path}/{action}", data)
            assert response.status_code == 404, action
        used = _create(client, contractor=contractor, job=job, bind="true")  # their contractor, in our form
        assert used.status_code == 404 and "This contractor is not one of your organization" in used.text
        assert theirs["id"] not in client.get("/dashboard/assignments", params={"job": job}).text
    with api(api_url, org) as http:
        assert http.get(f"/assignments/{theirs['id']}").status_code == 404  # as the API answers
    with api(api_url, other) as http:
        assert http.get(f"/assignments/{theirs['id']}").json()["status"] == "active"


DEVELOPER_WORDS = (
    "POST /",
    "PUT /",
    "The same as",
    "(set through the API)",
    "Coverage path",
    "<code>withhold_premium",
)


def test_staff_pages_explain_in_plain_words_not_in_api_calls(
    api_url: str, org: Org, session_factory: sessionmaker[Session], browser: Browser
) -> None:
    """An operations member reads how an assignment is covered, what a new assignment does, what final pay
    is and who pays, with no API call or field name to decode."""
    with api(api_url, org) as http:
        contractor, job = remit_contractor_and_job(http, session_factory, org)
        made = http.post(
            "/assignments", json={"contractor": contractor, "job": job, "effective_date": _day(3)}
        )
        assignment = active(http, made.json()["id"])
    admin = add_member(session_factory, org.id)
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    sign_in(page, api_url, admin)
    for path in (
        f"/dashboard/assignments/{assignment['id']}",
        "/dashboard/assignments",
        "/dashboard/settings",
        "/dashboard/jobs",
        f"/dashboard/jobs/{job}",
        "/dashboard/requirements",
    ):
        page.goto(f"{api_url}{path}")
        shown = page.get_by_role("main").inner_html()
        for words in DEVELOPER_WORDS:
            assert words not in shown, (path, words)
    page.goto(f"{api_url}/dashboard/assignments/{assignment['id']}")
    expect(page.locator("#how-covered")).to_have_text(
        "Covered through the contractor's general opt-in application for this state."
    )
    expect(page.get_by_text("Report what the contractor was paid for this work.")).to_be_visible()
    page.close()
