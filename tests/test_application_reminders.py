"""Reminders to contractors whose insurance application is unfinished.

The sweep over real (skipped) days on Temporal's time-skipping test server, with the real worker,
activities, database and SMTP: reminders go on the days each organization chose for its environment, once a
day, and stop when the application is completed or expires; another organization's choice does not apply.
The reminder arriving over SMTP with a link that opens the contractor's own application (the real worker on
the dev server). Two sweeps, a retried one and two workers at once send one reminder a day. The setting in
the dashboard (Chromium) and the API."""

import asyncio
import html
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from email.message import EmailMessage
from typing import Any, TypeVar

import httpx
import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from common.settings import Settings
from contracts.reminders import APPLICATION_REMINDERS_WORKFLOW_ID, ReminderSchedule
from db.models import ApplicationSession, AuditEntry, Contractor, Organization
from db.models import EmailMessage as Stored
from domain.roles import Role
from notifications.catalog import WITHHELD
from outbox.schedule import ensure_reminder_sweep
from services import application_reminders
from tests.dashboard_support import add_member, post_form, readme_screenshot, sign_in, signed_in
from tests.histories import keep_history
from tests.support import Org, SmtpSink, make_org
from tests.test_application_workflow import open_session, start, to_final_review
from workflows.application import ApplicationWorkflow
from workflows.application_reminders import ApplicationRemindersWorkflow

DAY = 86_400
T = TypeVar("T")


def _choose(api_url: str, key: str, days: int | None) -> httpx.Response:
    """The organization's choice for the key's environment, as a platform sets it through the API."""
    return httpx.put(
        f"{api_url}/api/v1/organization", json={"application_reminder_days": days}, auth=(key, ""), timeout=30
    )


def _recipient(factory: sessionmaker[Session], session_id: str) -> tuple[str, str]:
    """The contractor's email and the application's link token."""
    with factory() as session:
        row = session.scalar(select(ApplicationSession).where(ApplicationSession.id == session_id))
        assert row is not None
        contractor = session.scalar(select(Contractor).where(Contractor.id == row.contractor_id))
        assert contractor is not None
        return contractor.email, row.token


def _reminded_days(factory: sessionmaker[Session], session_id: str) -> list[int]:
    """On which day after the application was opened each reminder went (the sweep's clock)."""
    with factory() as session:
        row = session.scalar(select(ApplicationSession).where(ApplicationSession.id == session_id))
        assert row is not None
        sent = application_reminders.reminders_sent(session, session_id)
        return [(r.sent_at - row.created) // DAY for r in sent]


async def _until(check: Callable[[], T], timeout: float = 30) -> T:
    deadline = time.monotonic() + timeout
    while not (value := check()) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert value, f"not true after {timeout} s"
    return value


def _kept(factory: sessionmaker[Session], session_id: str) -> list[str]:
    """The reminder emails queued for application ``session_id`` (whatever address they went to: the
    contractor may change it on the application's first page)."""
    with factory() as session:
        kept = select(Stored.id).where(
            Stored.kind == "application_reminder",
            Stored.related["application_session"].as_string() == session_id,
        )
        return list(session.scalars(kept))


def _arrived(smtp_sink: SmtpSink, email_ids: list[str]) -> list[EmailMessage]:
    ids = {f"<{email_id}@gigcover>" for email_id in email_ids}
    return [m for m in smtp_sink.messages if isinstance(m, EmailMessage) and m["Message-ID"] in ids]


async def _reminder_mail(
    smtp_sink: SmtpSink, factory: sessionmaker[Session], session_id: str, count: int
) -> list[EmailMessage]:
    """The reminders of application ``session_id`` received over SMTP, once ``count`` or more were queued
    and every one queued arrived: there must be ``count``."""
    await _until(lambda: count <= len(kept := _kept(factory, session_id)) <= len(_arrived(smtp_sink, kept)))
    got = _arrived(smtp_sink, _kept(factory, session_id))
    assert len(got) == count, [m["Subject"] for m in got]
    return got


async def _days_pass(env: WorkflowEnvironment, hours: float, since_start: float) -> None:
    """Skip ``hours``, then wait for the last sweep due by then (``since_start`` hours after the sweep
    started: one every hour) to have finished."""
    await env.sleep(timedelta(hours=hours))
    sweep = env.client.get_workflow_handle_for(
        ApplicationRemindersWorkflow.run, APPLICATION_REMINDERS_WORKFLOW_ID
    )
    started = int((await sweep.describe()).start_time.timestamp())  # of its current run: one a day
    due = started + int(since_start % 24) * 3600 - 600  # (each sweep starts an instant after the hour)

    async def finished() -> bool:
        last = await sweep.query(ApplicationRemindersWorkflow.last_sweep)
        return last.at >= due

    deadline = time.monotonic() + 30
    while not await finished():
        assert time.monotonic() < deadline, "the sweep did not run"
        await asyncio.sleep(0.1)


async def test_reminders_go_on_the_chosen_days_once_a_day_and_stop_when_the_application_ends(
    skipping: WorkflowEnvironment,
    api_url: str,
    session_factory: sessionmaker[Session],
    settings: Settings,
    smtp_sink: SmtpSink,
) -> None:
    first = make_org(session_factory, "First Platform")
    other = make_org(session_factory, "Other Platform")
    assert _choose(api_url, first.sandbox_key, 1).json()["application_reminder_days"] == 1
    assert _choose(api_url, other.sandbox_key, 2).status_code == 200
    assert _choose(api_url, other.production_key, 1).status_code == 200  # production's own: not sandbox's

    unfinished = await asyncio.to_thread(
        open_session, api_url, first, session_factory, settings, withhold=True, lifetime=int(2.5 * DAY)
    )
    finished = await asyncio.to_thread(open_session, api_url, first, session_factory, settings, withhold=True)
    others = await asyncio.to_thread(open_session, api_url, other, session_factory, settings, withhold=True)
    handles = {app.session_id: await start(skipping, app) for app in (unfinished, finished, others)}

    # As the worker does on startup; a second worker starting finds it running and starts no other.
    await ensure_reminder_sweep(skipping.client, settings)
    sweep = skipping.client.get_workflow_handle(APPLICATION_REMINDERS_WORKFLOW_ID)
    first_run = (await sweep.describe()).run_id
    await ensure_reminder_sweep(skipping.client, settings)
    assert (await sweep.describe()).run_id == first_run

    await _days_pass(skipping, 24.5, since_start=24.5)  # the sweep ran every hour of day 1
    assert len(await _reminder_mail(smtp_sink, session_factory, unfinished.session_id, 1)) == 1
    await _reminder_mail(smtp_sink, session_factory, finished.session_id, 1)
    await _reminder_mail(smtp_sink, session_factory, others.session_id, 0)  # its organization: 2 days

    completing = handles[finished.session_id]
    await to_final_review(completing, None)
    await completing.execute_update(ApplicationWorkflow.complete)
    assert (await completing.result()).status == "APPLICATION_COMPLETE"

    await _days_pass(skipping, 24, since_start=48.5)  # day 2
    await _reminder_mail(smtp_sink, session_factory, unfinished.session_id, 2)
    await _reminder_mail(smtp_sink, session_factory, finished.session_id, 1)  # completed: no more
    await _reminder_mail(smtp_sink, session_factory, others.session_id, 1)

    await _days_pass(skipping, 25, since_start=73.5)  # day 3: the unfinished application expired at 2.5 days
    await _reminder_mail(smtp_sink, session_factory, unfinished.session_id, 2)
    await _reminder_mail(smtp_sink, session_factory, others.session_id, 1)

    assert _reminded_days(session_factory, unfinished.session_id) == [1, 2]
    assert _reminded_days(session_factory, finished.session_id) == [1]
    assert _reminded_days(session_factory, others.session_id) == [2]
    for mail in await _reminder_mail(smtp_sink, session_factory, unfinished.session_id, 2):
        assert mail["To"] == _recipient(session_factory, unfinished.session_id)[0]
        assert mail["Subject"] == "Reminder: finish your insurance application for First Platform"

    # the sweep kept going (continuing as new each day), one run at a time
    described = await sweep.describe()
    assert described.status is not None and described.status.name == "RUNNING"
    assert described.run_id != first_run
    await keep_history(
        skipping.client.get_workflow_handle(APPLICATION_REMINDERS_WORKFLOW_ID, run_id=first_run),
        "application_reminders_swept_for_a_day",
    )
    await sweep.terminate("test over")


async def test_the_reminder_arrives_over_smtp_and_its_link_opens_the_contractors_application(
    worker: None,
    temporal_address: str,
    api_url: str,
    org: Org,
    session_factory: sessionmaker[Session],
    settings: Settings,
    smtp_sink: SmtpSink,
) -> None:
    """The real worker on the dev server runs a sweep (under its own id here, so it does not meet the
    service's own): the email reaches the contractor over SMTP, in their words, with the link to continue
    their own application; the copy we keep withholds the link."""
    assert _choose(api_url, org.sandbox_key, 1).status_code == 200
    app = await asyncio.to_thread(open_session, api_url, org, session_factory, settings, withhold=True)
    email, token = _recipient(session_factory, app.session_id)
    with session_factory() as session:  # opened a day and a minute ago
        session.execute(
            update(ApplicationSession)
            .where(ApplicationSession.id == app.session_id)
            .values(created=ApplicationSession.created - DAY - 60)
        )
        session.commit()
    client = await Client.connect(temporal_address, data_converter=pydantic_data_converter)
    sweep: WorkflowHandle[Any, Any] = await client.start_workflow(
        ApplicationRemindersWorkflow.run,
        ReminderSchedule(every_seconds=3600, sweeps_per_run=1),
        id=f"reminders-{app.session_id}",
        task_queue=settings.task_queue,
    )
    try:
        [mail] = await _reminder_mail(smtp_sink, session_factory, app.session_id, 1)
    finally:
        await sweep.terminate("test over")
    assert mail["To"] == email
    assert mail["Subject"] == "Reminder: finish your insurance application for Test Platform"
    text = str(mail.get_body(("plain",)).get_content())  # type: ignore[union-attr]
    html = str(mail.get_body(("html",)).get_content())  # type: ignore[union-attr]
    assert "is not finished yet" in text
    assert "because you are covered, or applying for coverage, through Test Platform" in text
    links = re.findall(r"https?://\S+/apply/\S+", text)
    assert links == [f"{settings.public_base_url}/apply/{token}"], links
    assert f'href="{settings.public_base_url}/apply/{token}"' in html

    page = httpx.get(links[0], timeout=30)
    assert page.status_code == 200 and "Test Platform" in page.text
    assert 'name="first_name"' in page.text  # the application's first step, where the contractor left it

    with session_factory() as session:
        stored = session.scalar(
            select(Stored).where(Stored.kind == "application_reminder", Stored.recipient == email)
        )
        assert stored is not None and stored.related["application_session"] == app.session_id
        assert token not in stored.text_body + stored.html_body and WITHHELD in stored.text_body


def test_one_reminder_a_day_whatever_runs_twice(
    api_url: str, org: Org, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    """The sweep running twice at one moment, an hour later the same day, a retry after a worker died past
    its commit, and two workers at once: one reminder, one email. Finished, expired or another
    environment's applications get none."""
    assert _choose(api_url, org.sandbox_key, 1).status_code == 200
    app = open_session(api_url, org, session_factory, settings, withhold=True)
    with session_factory() as session:
        row = session.scalar(select(ApplicationSession).where(ApplicationSession.id == app.session_id))
        assert row is not None
        opened = row.created
    at = opened + DAY + 60

    def remind(moment: int) -> str | None:
        with session_factory() as session:
            return application_reminders.remind(session, settings, app.session_id, moment)

    with ThreadPoolExecutor(max_workers=4) as pool:  # four sweeps at the same moment
        sent = [found for found in pool.map(remind, [at] * 4) if found]
    assert len(sent) == 1
    assert remind(at) is None  # the activity retried after its commit
    assert remind(at + 3600) is None  # the next sweep, the same day
    with session_factory() as session:
        rows = application_reminders.reminders_sent(session, app.session_id)
        emails = session.scalars(
            select(Stored).where(
                Stored.kind == "application_reminder", Stored.id.in_([r.email_id for r in rows])
            )
        ).all()
    assert [r.email_id for r in rows] == sent and len(emails) == 1

    assert remind(at + DAY) is not None  # the next day's
    assert remind(opened + app.lifetime_seconds + 1) is None  # past its lifetime: expired

    with session_factory() as session:  # completed (or withdrawn): none
        session.execute(
            update(ApplicationSession)
            .where(ApplicationSession.id == app.session_id)
            .values(status="APPLICATION_COMPLETE")
        )
        session.commit()
    assert remind(at + 2 * DAY) is None
    assert _choose(api_url, org.production_key, 1).status_code == 200
    assert _choose(api_url, org.sandbox_key, None).json()["application_reminder_days"] is None
    with session_factory() as session:  # turned off in sandbox (production's choice is its own)
        session.execute(
            update(ApplicationSession).where(ApplicationSession.id == app.session_id).values(status="CREATED")
        )
        session.commit()
    assert remind(at + 2 * DAY) is None


def test_the_api_sets_each_environments_own_reminder_days(api_url: str, org: Org) -> None:
    assert _choose(api_url, org.sandbox_key, 2).json()["application_reminder_days"] == 2
    production = httpx.get(f"{api_url}/api/v1/organization", auth=(org.production_key, ""), timeout=30)
    assert production.json()["application_reminder_days"] is None
    for wrong in (0, 31, -1, "soon"):
        refused = _choose(api_url, org.sandbox_key, wrong)  # type: ignore[arg-type]
        assert refused.status_code == 400, refused.text
        assert refused.json()["message"].startswith("application_reminder_days:"), refused.text
    sandbox = httpx.get(f"{api_url}/api/v1/organization", auth=(org.sandbox_key, ""), timeout=30)
    assert sandbox.json()["application_reminder_days"] == 2


def test_reminder_days_that_could_never_send_are_refused(api_url: str, org: Org) -> None:
    """An application's link works 3 days (the default lifetime) and no reminder goes once it has expired:
    3 days or more would be accepted and never send a thing, so the API refuses them, changing nothing."""
    assert _choose(api_url, org.sandbox_key, 2).status_code == 200
    for never in (3, 4, 30):
        refused = _choose(api_url, org.sandbox_key, never)
        assert refused.status_code == 400, refused.text
        body = refused.json()
        assert body["error_code"] == "invalid_input", body
        assert body["message"].startswith("application_reminder_days:"), body
        assert "would never be sent" in body["message"] and "3 days" in body["message"], body
    sandbox = httpx.get(f"{api_url}/api/v1/organization", auth=(org.sandbox_key, ""), timeout=30)
    assert sandbox.json()["application_reminder_days"] == 2


@pytest.mark.usefixtures("worker")
def test_an_admin_chooses_the_reminder_days_in_settings(
    api_url: str, org: Org, session_factory: sessionmaker[Session], browser: Browser
) -> None:
    admin = add_member(session_factory, org.id)
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    sign_in(page, api_url, admin)
    page.goto(f"{api_url}/dashboard/settings")
    state = page.locator("#reminders-state")
    expect(state).to_contain_text("No reminders")
    field = page.get_by_label("Remind contractors with an unfinished application")
    expect(field).to_have_value("")
    field.select_option(label="2 days after they start it")
    page.get_by_role("button", name="Save reminders").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    expect(state).to_contain_text("get a reminder 2 days after it was started")
    expect(page.get_by_label("Remind contractors with an unfinished application")).to_have_value("2")
    expect(page.locator("#h-reminders ~ p.hint").first).to_contain_text("link works for 3 days")
    # Only the days that can send (fewer than the application's 3-day lifetime) are offered.
    options = page.get_by_label("Remind contractors with an unfinished application").locator("option")
    expect(options).to_have_text(["Never", "1 day after they start it", "2 days after they start it"])
    readme_screenshot(page, "settings-reminders")
    page.close()

    with session_factory() as session:
        stored = session.get(Organization, org.id)
        assert stored is not None
        assert (stored.sandbox_application_reminder_days, stored.application_reminder_days) == (2, None)
        actions = [
            (e.action, e.environment)
            for e in session.scalars(select(AuditEntry).where(AuditEntry.organization_id == org.id))
        ]
    assert ("organization.application_reminders_changed", "sandbox") in actions
    production = httpx.get(f"{api_url}/api/v1/organization", auth=(org.production_key, ""), timeout=30)
    assert production.json()["application_reminder_days"] is None

    with signed_in(api_url, admin) as client:  # a value no choice offers: said in staff words, nothing saved
        refused = post_form(client, "/dashboard/settings", "/dashboard/settings/reminders", {"days": "45"})
        assert refused.status_code == 400
        assert "Choose after how many days contractors are reminded from the list in" in refused.text
        assert "application_reminder_days" not in refused.text
        never = post_form(client, "/dashboard/settings", "/dashboard/settings/reminders", {"days": "5"})
        assert never.status_code == 400
        assert "A reminder after that many days would never be sent" in never.text, never.text
        assert "link works for 3 days" in never.text and "choose 2 days or fewer in" in never.text
        assert 'href="/dashboard/settings#h-reminders"' in never.text
        assert "application_reminder_days" not in never.text
        off = post_form(client, "/dashboard/settings", "/dashboard/settings/reminders", {"days": ""})
        assert off.status_code == 303
    with session_factory() as session:
        stored = session.get(Organization, org.id)
        assert stored is not None and stored.sandbox_application_reminder_days is None
        stored.sandbox_application_reminder_days = 5  # chosen before days that cannot send were refused
        session.commit()
    with signed_in(api_url, admin) as client:  # such a choice is shown as what it is: no reminder goes
        shown = html.unescape(client.get("/dashboard/settings").text)
        assert "After 5 days no reminder is ever sent" in shown, shown
        off = post_form(client, "/dashboard/settings", "/dashboard/settings/reminders", {"days": ""})
        assert off.status_code == 303

    viewer = add_member(session_factory, org.id, Role.OPERATOR)
    with signed_in(api_url, viewer) as client:  # only an admin changes it; the others read it
        shown = client.get("/dashboard/settings").text
        assert "No reminders" in shown and 'action="/dashboard/settings/reminders"' not in shown
        denied = post_form(client, "/dashboard/settings", "/dashboard/settings/reminders", {"days": "1"})
        assert denied.status_code == 403 and "Not allowed" in denied.text
    with session_factory() as session:
        stored = session.get(Organization, org.id)
        assert stored is not None and stored.sandbox_application_reminder_days is None
