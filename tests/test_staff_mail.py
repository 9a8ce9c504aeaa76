"""Mail to the dashboard's members is not tenant data, and no stored email keeps a usable link.

Each test is an attack through the real server, worker and SMTP: a viewer reading a member's reset link on
a contractor's page (the contractor made with the member's address), a viewer accepting an admin's
invitation read there, an operator importing the admin's address from a CSV, a platform listing ``/emails``
with its key; and on the links themselves: an older reset link, a flood of resets, an invitation that tells
who has an account elsewhere."""

import json
import re
import time
from pathlib import Path

import httpx
import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from common.encryption import PREFIX, box
from db.engine import make_engine, make_session_factory
from db.migrate import ROOT as DB_ROOT
from db.models import EmailMessage, Member
from domain.roles import Role
from notifications.catalog import WITHHELD
from services import members
from tests.dashboard_support import add_member, post_form, signed_in, signed_in_client
from tests.support import (
    Org,
    SmtpSink,
    contractor_fields,
    entity_fields,
    eventually,
    job_fields,
    make_org,
    unique_email,
)
from tests.test_dashboard_contractors import contractors_csv, import_upload, upload

pytestmark = pytest.mark.usefixtures("worker")

NEW_PASSWORD = "the attacker's own passphrase"


def _production_api(org: Org, api_url: str) -> httpx.Client:
    return httpx.Client(base_url=f"{api_url}/api/v1", auth=(org.production_key, ""), timeout=30)


def _mails_to(smtp_sink: SmtpSink, recipient: str) -> list[str]:
    return [
        m.get_body(preferencelist=("plain",)).get_content()  # type: ignore[attr-defined]
        for m in list(smtp_sink.messages)
        if m["To"] == recipient  # type: ignore[index]
    ]


def _parts_to(smtp_sink: SmtpSink, recipient: str) -> list[tuple[str, str]]:
    """(plain text, HTML) of each email delivered to ``recipient``."""
    return [
        (
            m.get_body(preferencelist=("plain",)).get_content(),  # type: ignore[attr-defined]
            m.get_body(preferencelist=("html",)).get_content(),  # type: ignore[attr-defined]
        )
        for m in list(smtp_sink.messages)
        if m["To"] == recipient  # type: ignore[index]
    ]


def _links(text: str, path: str) -> list[str]:
    return re.findall(rf"http\S+{path}[A-Za-z0-9_\-]+", text)


def _mailed_link(smtp_sink: SmtpSink, recipient: str, path: str, count: int = 1) -> str:
    """The newest of the links to ``path`` mailed to ``recipient``, once ``count`` have arrived."""

    def found() -> list[str] | None:
        links = [link for text in _mails_to(smtp_sink, recipient) for link in _links(text, path)]
        return links if len(links) >= count else None

    return eventually(found, timeout=60)[-1]


def _forgot(api_url: str, email: str) -> None:
    """Anyone (signed in or not) asks for a reset of ``email``'s password."""
    with httpx.Client(base_url=api_url, timeout=30) as anyone:
        form = "/dashboard/forgot-password"
        assert post_form(anyone, form, form, {"email": email}).status_code == 303


def _use_link(api_url: str, link: str) -> httpx.Response:
    """Open the link and choose a password on its page (a link that does not work shows no form)."""
    path = "/" + link.split("://", 1)[1].split("/", 1)[1]
    with httpx.Client(base_url=api_url, timeout=30) as browser:
        opened = browser.get(path)
        token = re.search(r'name="csrf_token" value="([^"]+)"', opened.text)
        if token is None:
            return opened
        return browser.post(path, data={"csrf_token": token.group(1), "password": NEW_PASSWORD})


def _production(client: httpx.Client) -> None:
    response = post_form(client, "/dashboard", "/dashboard/environment", {"environment": "production"})
    assert response.status_code == 303


def _take_over_with(api_url: str, page_html: str, path: str, victim: str) -> list[str]:
    """The attack: every link to ``path`` on the page, used to set a password; returns the pages of the
    dashboard it then signs in to (none, when no link was there to take)."""
    reached = []
    for link in _links(page_html, path):
        if _use_link(api_url, link).status_code == 303:
            with signed_in(api_url, victim, NEW_PASSWORD) as attacker:
                reached.append(attacker.get("/dashboard/team").text)
    return reached


def test_a_viewer_cannot_take_over_a_member_with_a_reset_read_on_a_contractors_page(
    api_url: str, org: Org, session_factory: sessionmaker[Session], smtp_sink: SmtpSink
) -> None:
    admin = add_member(session_factory, org.id)
    viewer = add_member(session_factory, org.id, Role.VIEWER)
    with _production_api(org, api_url) as http:
        contractor = http.post("/contractors", json=contractor_fields(admin)).json()
    _forgot(api_url, admin)
    sent = _mailed_link(smtp_sink, admin, "/dashboard/reset/")  # the member's own mail has the link
    with signed_in(api_url, viewer) as client:
        pages = []
        for _environment in ("sandbox", "production"):
            pages.append(client.get(f"/dashboard/contractors/{contractor['id']}").text)
            _production(client)
    for page in pages:
        assert _take_over_with(api_url, page, "/dashboard/reset/", admin) == []
        assert "Reset your" not in page  # the member's mail is not the contractor's
    assert _use_link(api_url, sent).status_code == 303  # and the link in the member's mailbox works
    signed_in_client(api_url, admin, NEW_PASSWORD).close()


def test_a_viewer_cannot_accept_an_admins_invitation_read_on_a_contractors_page(
    api_url: str, org: Org, session_factory: sessionmaker[Session], smtp_sink: SmtpSink
) -> None:
    admin = add_member(session_factory, org.id)
    viewer = add_member(session_factory, org.id, Role.VIEWER)
    newcomer = unique_email("newcomer")
    with _production_api(org, api_url) as http:
        contractor = http.post("/contractors", json=contractor_fields(newcomer)).json()
    with signed_in(api_url, admin) as client:
        invited = post_form(
            client, "/dashboard/team", "/dashboard/team/invite", {"email": newcomer, "role": "admin"}
        )
        assert invited.status_code == 303
    sent = _mailed_link(smtp_sink, newcomer, "/dashboard/invitation/")
    with signed_in(api_url, viewer) as client:
        _production(client)
        page = client.get(f"/dashboard/contractors/{contractor['id']}").text
    assert _take_over_with(api_url, page, "/dashboard/invitation/", newcomer) == []
    assert "invited you" not in page
    assert _use_link(api_url, sent).status_code == 303  # the invitee's own link works


def test_an_operator_importing_the_admins_address_cannot_read_the_admins_reset(
    api_url: str, org: Org, session_factory: sessionmaker[Session], smtp_sink: SmtpSink
) -> None:
    admin = add_member(session_factory, org.id)
    operator = add_member(session_factory, org.id, Role.OPERATOR)
    with signed_in(api_url, operator) as client:
        _production(client)
        response = upload(client, contractors_csv(1, {2: {"email": admin}}))
        assert import_upload(client, response.headers["location"])["created"] == 1
        with _production_api(org, api_url) as http:
            (contractor,) = http.get("/contractors", params={"email": admin}).json()
        _forgot(api_url, admin)
        _mailed_link(smtp_sink, admin, "/dashboard/reset/")
        page = client.get(f"/dashboard/contractors/{contractor['id']}").text
    assert _take_over_with(api_url, page, "/dashboard/reset/", admin) == []
    assert "Reset your" not in page


def test_the_emails_api_never_lists_a_members_mail(
    api_url: str, org: Org, session_factory: sessionmaker[Session], smtp_sink: SmtpSink
) -> None:
    admin = add_member(session_factory, org.id)
    newcomer = unique_email("invited")
    with signed_in(api_url, admin) as client:
        post_form(client, "/dashboard/team", "/dashboard/team/invite", {"email": newcomer, "role": "finance"})
    _forgot(api_url, admin)
    _mailed_link(smtp_sink, admin, "/dashboard/reset/")
    with session_factory() as session:
        staff_ids = list(
            session.scalars(
                select(EmailMessage.id).where(
                    EmailMessage.organization_id == org.id, EmailMessage.recipient.in_([admin, newcomer])
                )
            )
        )
    assert len(staff_ids) == 2
    for key in (org.production_key, org.sandbox_key):
        with httpx.Client(base_url=f"{api_url}/api/v1", auth=(key, ""), timeout=30) as http:
            listed = http.get("/emails", params={"limit": 100}).json()
            assert not {m["kind"] for m in listed} & {"member_invitation", "password_reset"}
            for recipient in (admin, newcomer):
                assert http.get("/emails", params={"recipient": recipient}).json() == []
            for email_id in staff_ids:
                assert http.get(f"/emails/{email_id}").status_code == 404


def test_a_stored_email_keeps_no_usable_link_and_its_sealed_copy_goes_once_delivered(
    api_url: str, org: Org, session_factory: sessionmaker[Session], smtp_sink: SmtpSink
) -> None:
    admin = add_member(session_factory, org.id)
    _forgot(api_url, admin)
    link = _mailed_link(smtp_sink, admin, "/dashboard/reset/")
    token = link.rsplit("/", 1)[1]

    def delivered() -> EmailMessage | None:
        with session_factory() as session:
            row = session.scalar(select(EmailMessage).where(EmailMessage.recipient == admin))
            return row if row is not None and row.status == "sent" else None

    row = eventually(delivered, timeout=30)
    assert token not in row.text_body + row.html_body + row.subject
    assert WITHHELD in row.text_body and WITHHELD in row.html_body
    assert row.sealed_message is None  # nothing left to send: the sealed copy is wiped


def test_an_older_reset_link_stops_working_once_a_newer_one_is_asked_for_or_used(
    api_url: str, org: Org, session_factory: sessionmaker[Session], smtp_sink: SmtpSink
) -> None:
    member = add_member(session_factory, org.id, Role.OPERATOR)
    _forgot(api_url, member)
    older = _mailed_link(smtp_sink, member, "/dashboard/reset/")
    _forgot(api_url, member)
    newer = _mailed_link(smtp_sink, member, "/dashboard/reset/", count=2)
    assert newer != older
    assert _use_link(api_url, newer).status_code == 303
    refused = _use_link(api_url, older)
    assert refused.status_code == 400 and "does not work" in refused.text
    signed_in_client(api_url, member, NEW_PASSWORD).close()


def test_asking_for_resets_over_and_over_sends_a_few_and_answers_the_same(
    api_url: str, org: Org, session_factory: sessionmaker[Session], smtp_sink: SmtpSink
) -> None:
    member = add_member(session_factory, org.id, Role.FINANCE)
    answers = set()
    with httpx.Client(base_url=api_url, timeout=30) as anyone:
        form = "/dashboard/forgot-password"
        for _ in range(8):
            answer = post_form(anyone, form, form, {"email": member})
            answers.add((answer.status_code, answer.headers["location"]))
    assert len(answers) == 1  # the same answer before and after the limit: nothing to learn from it
    _mailed_link(smtp_sink, member, "/dashboard/reset/", count=members.RESETS_PER_MEMBER)
    time.sleep(2)
    assert len(_mails_to(smtp_sink, member)) == members.RESETS_PER_MEMBER


def test_one_address_asking_for_many_resets_gets_no_more_sent(
    org: Org, session_factory: sessionmaker[Session]
) -> None:
    victims = [add_member(session_factory, org.id, Role.VIEWER) for _ in range(3)]
    address = f"203.0.113.{time.time_ns() % 250}"
    with session_factory() as session:
        for n in range(members.RESET_REQUESTS_PER_ADDRESS):
            members.request_password_reset(session, unique_email(f"probe{n}"), "http://x", address)
        for victim in victims:
            members.request_password_reset(session, victim, "http://x", address)
        sent = session.scalar(
            select(func.count()).select_from(EmailMessage).where(EmailMessage.recipient.in_(victims))
        )
    assert sent == 0


def test_inviting_someone_with_an_account_elsewhere_answers_as_for_anyone_and_sends_nothing(
    api_url: str, org: Org, session_factory: sessionmaker[Session], smtp_sink: SmtpSink
) -> None:
    admin = add_member(session_factory, org.id)
    elsewhere = add_member(session_factory, make_org(session_factory, "Other Platform").id, Role.OPERATOR)
    stranger = unique_email("stranger")
    with signed_in(api_url, admin) as client:
        answers = [
            post_form(client, "/dashboard/team", "/dashboard/team/invite", {"email": email, "role": "admin"})
            for email in (elsewhere, stranger)
        ]
        assert [a.status_code for a in answers] == [303, 303]
        assert answers[0].headers["location"] == answers[1].headers["location"]
        team = client.get("/dashboard/team").text
        assert f'{elsewhere} <span class="status">invited</span>' in team
        assert f'{stranger} <span class="status">invited</span>' in team
        again = post_form(
            client, "/dashboard/team", "/dashboard/team/invite", {"email": elsewhere, "role": "admin"}
        )
        assert again.status_code == 400  # as for anyone already invited to this team
    _mailed_link(smtp_sink, stranger, "/dashboard/invitation/")
    time.sleep(2)
    assert _mails_to(smtp_sink, elsewhere) == []  # the address's owner is not bothered
    signed_in_client(api_url, elsewhere).close()  # and still signs in to their own organization, as before
    with session_factory() as session:
        account = session.scalar(select(Member).where(Member.email == elsewhere))
        assert account is not None and account.organization_id != org.id


COVERAGE_FOOTER = "covered, or applying for coverage"


def test_staff_mail_carries_the_staff_footer_and_a_contractors_mail_the_coverage_footer(
    api_url: str, org: Org, session_factory: sessionmaker[Session], smtp_sink: SmtpSink
) -> None:
    """An invitation and a reset say who sent them and why, as dashboard mail; neither tells the member
    they are covered or applying for coverage. An application link still does."""
    admin = add_member(session_factory, org.id)
    newcomer = unique_email("invitee")
    with signed_in(api_url, admin) as client:
        invited = post_form(
            client, "/dashboard/team", "/dashboard/team/invite", {"email": newcomer, "role": "finance"}
        )
        assert invited.status_code == 303
    _forgot(api_url, admin)
    contractor_email = unique_email("covered")
    with httpx.Client(base_url=f"{api_url}/api/v1", auth=(org.sandbox_key, ""), timeout=30) as http:
        entity = http.post("/entities", json=entity_fields()).json()["id"]
        contractor = http.post("/contractors", json=contractor_fields(contractor_email)).json()["id"]
        job = http.post("/jobs", json=job_fields(entity)).json()["id"]
        quote = http.post(
            "/quotes", json={"contractor": contractor, "job": job, "coverage_type": ["workers-comp"]}
        ).json()["id"]
        opened = http.post(
            "/apply/sessions",
            json={
                "quote": quote,
                "success_url": "https://platform.example/done",
                "cancel_url": "https://platform.example/cancel",
                "send_email": True,
            },
        )
        assert opened.status_code == 201, opened.text

    def delivered() -> dict[str, tuple[str, str]] | None:
        found = {who: _parts_to(smtp_sink, who) for who in (newcomer, admin, contractor_email)}
        return {who: parts[0] for who, parts in found.items()} if all(found.values()) else None

    mails = eventually(delivered, timeout=60)
    for member in (newcomer, admin):
        text, html = mails[member]
        for body in (text, html):
            assert COVERAGE_FOOTER not in body and "coverage by gigcover" not in body
            assert "which runs Test Platform&#39;s insurance dashboard" in body.replace("'", "&#39;")
    assert f"because {admin} invited this address to join it" in mails[newcomer][0]
    assert "asked, on its sign-in page, to reset the password" in mails[admin][0]
    text, html = mails[contractor_email]
    assert f"because you are {COVERAGE_FOOTER}, through Test Platform" in text
    assert f"because you are {COVERAGE_FOOTER}, through Test Platform" in html
    assert "insurance dashboard" not in text + html


def test_the_migration_withholds_the_links_of_emails_already_recorded(tmp_path: Path) -> None:
    """A database as release 0012 left it: a sent reset (its link in the body, filed as production mail)
    and an application link still waiting to go."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    config = Config(str(DB_ROOT / "alembic.ini"))
    config.attributes["url"] = url
    command.upgrade(config, "0012")
    factory = make_session_factory(make_engine(url))
    reset, apply = (
        "http://127.0.0.1:8000/dashboard/reset/OldResetToken123",
        "http://x.example/apply/OldApplyTok99",
    )
    with factory() as session:
        session.execute(
            text(
                "INSERT INTO organizations (id, name, withhold_premium, created) "
                "VALUES ('org_old', 'Old', 0, 1)"
            )
        )
        for seq, kind, status, link in (
            (1, "password_reset", "sent", reset),
            (2, "application_link", "pending", apply),
        ):
            session.execute(
                text(
                    "INSERT INTO email_messages (seq, id, organization_id, environment, created, kind, "
                    "recipient, subject, text_body, html_body, related, status, dispatched, attempt_count) "
                    "VALUES (:seq, :id, 'org_old', 'production', 1, :kind, 'a@example.com', 'Hi', :text, "
                    ":html, '{}', :status, 0, 0)"
                ),
                {
                    "seq": seq,
                    "id": f"em_old{seq}",
                    "kind": kind,
                    "status": status,
                    "text": f"Open {link}\n",
                    "html": f'<a href="{link}">Open</a>',
                },
            )
        session.commit()
    command.upgrade(config, "head")
    with factory() as session:
        rows = session.execute(
            text(
                "SELECT kind, environment, text_body, html_body, sealed_message "
                "FROM email_messages ORDER BY seq"
            )
        ).all()
    (reset_row, apply_row) = rows
    for _kind, _environment, text_body, html_body, _sealed in rows:
        assert (
            "OldResetToken123" not in text_body + html_body and "OldApplyTok99" not in text_body + html_body
        )
        assert WITHHELD in text_body and WITHHELD in html_body
    assert reset_row.environment == "staff" and reset_row.sealed_message is None  # sent: nothing to keep
    assert apply_row.environment == "production" and apply_row.sealed_message.startswith(PREFIX)
    assert apply in json.loads(box().open(apply_row.sealed_message))["text"]  # still sent with its link
    command.downgrade(config, "0012")  # and back: the waiting email has its link, as 0012 sends it
    with factory() as session:
        assert apply in session.scalar(text("SELECT text_body FROM email_messages WHERE seq = 2"))
