"""Attacks on the settings and the input of every front, against the real server (the API through HTTP and
the official client, the dashboard and the hosted pages as a browser sends them), in both tenants'
environments: a sandbox key reaching for the organization's settings, cursors past 64 bits, NUL/CR/LF in a
hosted link, bodies over the limit and NUL in a browser's form (a page, never the API's JSON), amounts no
business holds, NaN and Infinity in JSON, twenty racing creates of one contractor, and pagination cursors
that would tell whether an id exists in another organization."""

import http.client
import re
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import ten99policy
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from ten99policy import error

from db.migrate import ROOT
from db.models import Contractor, Job, Organization, Quote, Scope
from tests.dashboard_support import add_member, signed_in
from tests.support import Org, contractor_fields, entity_fields, job_fields, make_org, unique_email
from tests.test_application_flow import csrf_token
from tests.test_hosted_security import _application

pytestmark = pytest.mark.usefixtures("worker")
BILLING = {
    "billing_contact_name": "Pat Payables",
    "billing_contact_email": "ap@platform.example",
    "billing_address": {
        "line1": "500 Market St",
        "locality": "San Francisco",
        "region": "CA",
        "postalcode": "94105",
    },
}
TOO_BIG = "99999999999999999999"  # past 64 bits


def _api(api_url: str, key: str) -> httpx.Client:
    return httpx.Client(base_url=f"{api_url}/api/v1", auth=(key, ""), timeout=30)


def _error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"message", "error_code"} and body["error_code"] == code, body
    return str(body["message"])


def _page(response: httpx.Response, status: int) -> str:
    """A refusal a browser sees: an HTML page with the status, not the API's JSON."""
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"].startswith("text/html"), response.headers["content-type"]
    assert '"error_code"' not in response.text
    return response.text


def _stored(factory: sessionmaker[Session], org: Org) -> Organization:
    with factory() as session:
        found = session.get(Organization, org.id)
        assert found is not None
        session.expunge(found)
        return found


# A key acts in its own environment ----------------------------------------------------------------------


def test_a_sandbox_key_cannot_change_the_organizations_billing_identity(
    api_url: str, org: Org, session_factory: sessionmaker[Session]
) -> None:
    with _api(api_url, org.production_key) as production, _api(api_url, org.sandbox_key) as sandbox:
        assert production.put("/organization", json=BILLING).status_code == 200
        for attack in (
            {"billing_contact_email": "attacker@evil.example"},
            {"billing_contact_name": "Mallory", "billing_address": None},
            {"withhold_premium": True, "billing_contact_email": "attacker@evil.example"},
        ):
            message = _error(sandbox.put("/organization", json=attack), 403, "insufficient_permissions")
            assert "production" in message and "Nothing was changed" in message
        shown = production.get("/organization").json()
        assert shown["billing_contact_email"] == "ap@platform.example"
        assert shown["billing_address"]["line1"] == "500 Market St" and shown["withhold_premium"] is False
        assert sandbox.get("/organization").json()["billing_contact_email"] == "ap@platform.example"
    stored = _stored(session_factory, org)
    assert (stored.billing_contact_name, stored.withhold_premium, stored.sandbox_withhold_premium) == (
        "Pat Payables",
        False,
        False,
    )


def test_withhold_premium_is_each_environments_own_and_decides_who_pays_there(
    api_url: str, org: Org, session_factory: sessionmaker[Session]
) -> None:
    with _api(api_url, org.production_key) as production, _api(api_url, org.sandbox_key) as sandbox:
        assert production.put("/organization", json=BILLING).status_code == 200
        turned_on = sandbox.put("/organization", json={"withhold_premium": True})
        assert turned_on.status_code == 200 and turned_on.json()["withhold_premium"] is True
        assert production.get("/organization").json()["withhold_premium"] is False
        # Who pays follows each environment's own setting: the sandbox application skips the card.
        withheld = {}
        for name, http in (("sandbox", sandbox), ("production", production)):
            entity = http.post("/entities", json=entity_fields()).json()["id"]
            contractor = http.post("/contractors", json=contractor_fields(unique_email())).json()["id"]
            job = http.post("/jobs", json=job_fields(entity)).json()["id"]
            quote = http.post(
                "/quotes", json={"contractor": contractor, "job": job, "coverage_type": ["general"]}
            ).json()["id"]
            urls = {"success_url": "https://platform.example/ok", "cancel_url": "https://platform.example/no"}
            opened = http.post("/apply/sessions", json={"quote": quote, **urls})
            assert opened.status_code == 201, opened.text
            withheld[name] = opened.json()["withhold_premium"]
        assert withheld == {"sandbox": True, "production": False}
        # ...and production's own change leaves the sandbox's as it was.
        assert production.put("/organization", json={"withhold_premium": True}).status_code == 200
        assert sandbox.put("/organization", json={"withhold_premium": False}).status_code == 200
        assert production.get("/organization").json()["withhold_premium"] is True
    stored = _stored(session_factory, org)
    assert (stored.withhold_premium, stored.sandbox_withhold_premium) == (True, False)


# Cursors and numbers the database cannot hold --------------------------------------------------------------


def test_dashboard_cursors_past_64_bits_are_a_400_page(
    api_url: str, org: Org, session_factory: sessionmaker[Session]
) -> None:
    admin = add_member(session_factory, org.id)
    with _api(api_url, org.sandbox_key) as http:
        contractor = http.post("/contractors", json=contractor_fields(unique_email())).json()["id"]
    with signed_in(api_url, admin) as client:
        for path in (
            f"/dashboard/contractors/{contractor}?emails_before={TOO_BIG}",
            f"/dashboard/audit?before={TOO_BIG}",
            f"/dashboard/audit?before=-{TOO_BIG}",
            f"/dashboard/audit?before={2**63 - 1}",  # fits SQLite, not PostgreSQL's 32-bit id column
            "/dashboard/audit?before=1e400",
        ):
            assert "That did not work" in _page(client.get(path), 400), path
        assert client.get(f"/dashboard/contractors/{contractor}?emails_before=5").status_code == 200
        assert client.get(f"/dashboard/audit?before={2**31 - 1}").status_code == 200


def _raw_get(api_url: str, raw_path: str) -> tuple[int, dict[str, str], bytes]:
    """A GET of a path exactly as written (percent-escapes and all), as a browser or a script may send it."""
    host, port = httpx.URL(api_url).host, httpx.URL(api_url).port
    connection = http.client.HTTPConnection(host, port, timeout=30)
    try:
        connection.request("GET", raw_path)
        response = connection.getresponse()
        headers = {k.lower(): v for k, v in response.getheaders() if k.lower() != "set-cookie"}
        cookies = [v for k, v in response.getheaders() if k.lower() == "set-cookie"]
        headers["set-cookie"] = "\n".join(cookies)
        return response.status, headers, response.read()
    except (TimeoutError, http.client.RemoteDisconnected, ConnectionResetError) as dropped:
        raise AssertionError(f"{raw_path}: the server dropped the connection ({dropped!r})") from None
    finally:
        connection.close()


@pytest.mark.parametrize(
    "raw_path",
    [
        "/cards/%00",
        "/apply/%00",
        "/apply/%0d%0aSet-Cookie:%20injected=1",
        "/cards/x%0aLocation:%20https://evil.example",
        "/apply/abc;%20Domain=evil.example;%20Path=/",
        "/apply/%00/verify_info",
    ],
)
def test_control_characters_in_a_hosted_link_are_a_404_page(api_url: str, raw_path: str) -> None:
    status, headers, body = _raw_get(api_url, raw_path)
    assert status == 404 and headers["content-type"].startswith("text/html"), (status, headers)
    assert b"This link does not work" in body and b"error_code" not in body
    assert "injected" not in headers["set-cookie"] and "evil" not in headers["set-cookie"]
    assert "location" not in headers and headers["x-frame-options"] == "DENY"


def test_a_browser_gets_a_page_for_a_body_over_the_limit_and_for_nul_in_a_form(
    api_url: str, org: Org, session_factory: sessionmaker[Session]
) -> None:
    operator = add_member(session_factory, org.id)
    big = b"first_name,last_name,email\n" + b"Jane,Doe,jane@example.com\n" * 48_000  # about 1.2 MiB
    assert len(big) > 1024 * 1024
    with signed_in(api_url, operator) as client:
        token = csrf_token(client, "/dashboard/contractors/upload")
        refused = client.post(
            "/dashboard/contractors/upload",
            data={"csrf_token": token},
            files={"file": ("contractors.csv", big, "text/csv")},
        )
        assert "larger than" in _page(refused, 413)
        nul = client.get("/dashboard/contractors", params={"status": "a\x00b"})
        assert "NUL" in _page(nul, 400)
    link = _application(api_url, org)
    with httpx.Client(base_url=api_url, timeout=30) as browser:
        form_token = csrf_token(browser, link)
        form = {
            "csrf_token": form_token,
            "first_name": "Ja\x00ne",
            "last_name": "Doe",
            "email": "jane.doe@example.com",
            "phone": "5551234567",
            "line1": "1 Market St",
            "line2": "",
            "locality": "San Francisco",
            "region": "CA",
            "postalcode": "94102",
        }
        assert "NUL" in _page(browser.post(f"{link}/verify_info", data=form), 400)
        assert "NUL" in _page(browser.get(link, params={"step": "\x00"}), 400)
        assert "Your details" in browser.get(link).text  # still at the first step: nothing was saved
    with _api(api_url, org.sandbox_key) as api:  # the API still answers JSON
        _error(
            api.post("/contractors", content=big, headers={"content-type": "application/json"}),
            413,
            "request_too_large",
        )


# Amounts the business does not write ---------------------------------------------------------------------


def test_wage_times_hours_beyond_any_job_is_refused_and_never_priced(
    client: object, org: Org, session_factory: sessionmaker[Session]
) -> None:
    entity = ten99policy.Entities.create(**entity_fields())["id"]
    contractor = ten99policy.Contractors.create(**contractor_fields(unique_email()))["id"]
    huge = {"wage": 2_000_000_000, "wage_type": "hourly", "duration_hours": 10_000}  # $20M an hour, 10,000 h
    with pytest.raises(error.InvalidInputError) as raised:
        ten99policy.Jobs.create(**job_fields(entity, **huge))
    assert raised.value.http_status == 400 and "wage x duration_hours" in str(raised.value)
    job = ten99policy.Jobs.create(**job_fields(entity, wage=100_000, wage_type="hourly", duration_hours=10))
    with pytest.raises(error.InvalidInputError):  # the same through an update
        ten99policy.Jobs.modify(job["id"], wage=2_000_000_000, duration_hours=10_000)
    assert ten99policy.Jobs.retrieve(job["id"])["wage"] == 100_000
    # A job an earlier release stored with those numbers is never priced: no $2.5 billion quote or assignment.
    with session_factory() as session:
        category = session.scalar(select(Job.category_id).where(Job.id == job["id"]))
        stored = Job.new(
            Scope(org.id, "sandbox"),
            name="Old",
            description="Stored before the bound",
            entity_id=entity,
            category_id=category,
            address={"region": "CA"},
            custom_metadata={},
            **huge,
        )
        session.add(stored)
        session.commit()
        old_job = stored.id
    with pytest.raises(error.InvalidInputError) as raised:
        ten99policy.Quotes.create(contractor=contractor, job=old_job, coverage_type=["general"])
    assert "wage x duration_hours" in str(raised.value)
    with session_factory() as session:
        assert session.scalars(select(Quote).where(Quote.organization_id == org.id)).all() == []


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_in_json_are_refused(api_url: str, org: Org, number: str) -> None:
    email = unique_email()
    address = '{"line1": "1 Main", "locality": "SF", "region": "CA", "postalcode": "94102"}'
    body = (
        f'{{"first_name": "Jane", "last_name": "Doe", "email": "{email}", "phone": "5551234567", '
        f'"address": {address}, "custom_metadata": {{"score": {number}}}}}'
    )
    with _api(api_url, org.sandbox_key) as http:
        for content_type in ("application/json", None):
            headers = {"content-type": content_type} if content_type else {}
            refused = http.post("/contractors", content=body.encode(), headers=headers)
            assert "NaN or Infinity" in _error(refused, 400, "invalid_input")
        job_body = (
            '{"name": "J", "description": "D", "entity": "en_x", "wage": 1000, "wage_type": "hourly", '
            '"duration_hours": %s}'
        )
        _error(
            http.post(
                "/jobs", content=(job_body % number).encode(), headers={"content-type": "application/json"}
            ),
            400,
            "invalid_input",
        )
        assert http.get("/contractors", params={"email": email}).json() == []
        words = body.replace(f'"score": {number}', f'"score": "{number}"')  # the word in a string is text
        assert (
            http.post(
                "/contractors", content=words.encode(), headers={"content-type": "application/json"}
            ).status_code
            == 201
        )


# One contractor per email, even in a race ----------------------------------------------------------------


def test_twenty_racing_creates_with_one_email_make_one_contractor(api_url: str, org: Org) -> None:
    for environment_key in (org.sandbox_key, org.production_key):
        for round_ in range(3):
            email = unique_email(f"race{round_}")
            spellings = [email, email.upper(), f"  {email.title()}  "]

            def create(
                i: int, key: str = environment_key, spellings: list[str] = spellings
            ) -> httpx.Response:
                return httpx.post(
                    f"{api_url}/api/v1/contractors",
                    json=contractor_fields(spellings[i % len(spellings)]),
                    auth=(key, ""),
                    timeout=60,
                )

            with ThreadPoolExecutor(max_workers=20) as pool:
                answers = list(pool.map(create, range(20)))
            statuses = sorted(a.status_code for a in answers)
            assert statuses == [201] + [400] * 19, [a.text for a in answers if a.status_code != 201]
            for refused in (a for a in answers if a.status_code == 400):
                assert refused.json()["error_code"] == "duplicate_email", refused.text
            with _api(api_url, environment_key) as http:
                same = [
                    c
                    for c in http.get("/contractors", params={"limit": 100}).json()
                    if c["email"].lower() == email
                ]
                assert len(same) == 1


def test_a_create_that_lost_the_race_at_the_index_gets_the_same_duplicate_email(
    client: object, api_url: str, org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two requests that both passed the service's check before either committed: the second is refused
    by the unique index, and answers as the check would have (400 duplicate_email), creating nothing."""
    import services.contractors

    monkeypatch.setattr(services.contractors, "refuse_duplicate_email", lambda *_args: None)
    email = unique_email("lost")
    first = ten99policy.Contractors.create(**contractor_fields(email))
    with pytest.raises(error.DuplicateEmailError) as raised:
        ten99policy.Contractors.create(**contractor_fields(f" {email.upper()} "))
    assert raised.value.http_status == 400 and email.upper() in str(raised.value).upper()
    other = ten99policy.Contractors.create(**contractor_fields(unique_email("other")))
    with pytest.raises(error.DuplicateEmailError):
        ten99policy.Contractors.modify(other["id"], email=email)
    assert [c["id"] for c in ten99policy.Contractors.list(email=email)] == [first["id"]]
    with _api(api_url, org.production_key) as production:  # production's own contractor may have it
        assert production.post("/contractors", json=contractor_fields(email)).status_code == 201


def test_the_database_holds_one_contractor_per_email_and_frees_it_on_delete(
    api_url: str, org: Org, session_factory: sessionmaker[Session]
) -> None:
    """The index is the last word, whatever path writes a contractor (the race, an import, a sync)."""
    from sqlalchemy.exc import IntegrityError

    from services.tenancy import Tenant

    email = unique_email("indexed")
    with session_factory() as session:
        organization = session.get(Organization, org.id)
        assert organization is not None
        tenant = Tenant(organization, "sandbox")
        fields = {k: v for k, v in contractor_fields(email).items()}
        session.add(Contractor.new(tenant, custom_metadata={}, **fields))
        session.commit()
        session.add(Contractor.new(tenant, custom_metadata={}, **{**fields, "email": f" {email.upper()} "}))
        with pytest.raises(IntegrityError):
            session.commit()
        session.rollback()
        session.add(Contractor.new(Tenant(organization, "production"), custom_metadata={}, **fields))
        session.commit()  # another environment's contractor may have it
    with _api(api_url, org.sandbox_key) as http:
        (first,) = http.get("/contractors", params={"email": email}).json()
        assert http.delete(f"/contractors/{first['id']}").status_code == 200
        assert http.post("/contractors", json=contractor_fields(email)).status_code == 201


def test_the_migration_keeps_contractors_that_were_already_duplicates(tmp_path: Path) -> None:
    from alembic import command
    from alembic.config import Config

    url = f"sqlite:///{tmp_path / 'old.db'}"
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["url"] = url
    command.upgrade(config, "0012")
    db = sqlite3.connect(tmp_path / "old.db")
    db.execute(
        "INSERT INTO organizations (id, name, withhold_premium, created) VALUES ('org_1', 'Old', 1, 0)"
    )
    for seq, email, deleted in (
        (1, "dup@example.com", None),
        (2, " DUP@example.com", None),
        (3, "dup@example.com", 5),
    ):
        db.execute(
            "INSERT INTO contractors (seq, id, organization_id, environment, created, deleted_at, "
            "first_name, last_name, email, phone, address, custom_metadata) "
            "VALUES (?, ?, 'org_1', 'sandbox', 0, ?, 'A', 'B', ?, '555', '{}', '{}')",
            (seq, f"cn_{seq}", deleted, email),
        )
    db.commit()
    db.close()
    command.upgrade(config, "head")
    db = sqlite3.connect(tmp_path / "old.db")
    rows = db.execute("SELECT id, email, email_key FROM contractors ORDER BY seq").fetchall()
    assert rows == [
        ("cn_1", "dup@example.com", "dup@example.com"),
        ("cn_2", " DUP@example.com", None),
        ("cn_3", "dup@example.com", None),
    ]
    assert db.execute("SELECT withhold_premium, sandbox_withhold_premium FROM organizations").fetchone() == (
        1,
        1,
    )
    with pytest.raises(sqlite3.IntegrityError):
        db.execute(
            "INSERT INTO contractors (seq, id, organization_id, environment, created, first_name, "
            "last_name, email, email_key, phone, address, custom_metadata) VALUES (4, 'cn_4', 'org_1', "
            "'sandbox', 0, 'A', 'B', 'dup@example.com', 'dup@example.com', '555', '{}', '{}')"
        )
    db.close()


# Cursors tell nothing of other tenants --------------------------------------------------------------------


def test_a_cursor_from_another_organization_or_environment_answers_as_an_unknown_one(
    client: object, api_url: str, org: Org, session_factory: sessionmaker[Session]
) -> None:
    other = make_org(session_factory, "Other Platform")
    with _api(api_url, other.sandbox_key) as theirs:
        foreign = theirs.post("/contractors", json=contractor_fields(unique_email())).json()["id"]
    with _api(api_url, org.production_key) as production:
        own_production = production.post("/contractors", json=contractor_fields(unique_email())).json()["id"]
    ten99policy.Contractors.create(**contractor_fields(unique_email()))
    unknown = "cn_" + "Z" * 14
    answers: list[tuple[Any, ...]] = []
    for cursor in (unknown, foreign, own_production):
        for field in ("starting_after", "ending_before"):
            with pytest.raises(error.InvalidInputError) as raised:
                ten99policy.Contractors.list(**{field: cursor})
            message = re.sub(r"Request req_\w+: ", "", str(raised.value)).replace(cursor, "<id>")
            answers.append((field, raised.value.http_status, message))
    assert len(set(answers)) == 2, answers  # one answer per field, whichever id was given
    with _api(api_url, org.sandbox_key) as http:
        for path in ("/contractors", "/events", "/jobs", "/webhook_endpoints"):
            mine = http.get(path, params={"starting_after": foreign})
            never = http.get(path, params={"starting_after": unknown})
            assert (mine.status_code, mine.json()["message"].replace(foreign, "<id>")) == (
                never.status_code,
                never.json()["message"].replace(unknown, "<id>"),
            )
