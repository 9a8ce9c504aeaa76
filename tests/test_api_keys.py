"""API keys through the API, the official client and manage.py: named, listed with when they were last used
(written at most once a minute), revoked (401 at once), rolled (the new key shown once, the old one working
for the chosen hours), every change in the audit log without the key, and bad input changing nothing."""

import os
import subprocess
import sys
import time

import httpx
import pytest
import ten99policy
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.attributes import set_committed_value

from db.models import ApiKey, AuditEntry
from services import api_keys
from services.api_keys import hash_key
from services.audit import Actor
from tests.support import ISSUED_KEYS, ROOT, Org


def _api(api_url: str, key: str) -> httpx.Client:
    return httpx.Client(base_url=f"{api_url}/api/v1", auth=(key, ""), timeout=30)


def _works(api_url: str, key: str) -> int:
    return httpx.get(f"{api_url}/api/v1/entities", auth=(key, ""), timeout=30).status_code


def _audit(factory: sessionmaker[Session], organization_id: str) -> list[AuditEntry]:
    with factory() as session:
        query = select(AuditEntry).where(AuditEntry.organization_id == organization_id)
        return list(session.scalars(query.order_by(AuditEntry.id)))


def test_create_name_list_and_revoke_through_the_api(
    api_url: str, org: Org, session_factory: sessionmaker[Session]
) -> None:
    with _api(api_url, org.sandbox_key) as http:
        made = http.post("/api_keys", json={"name": "payroll service"})
        assert made.status_code == 201, made.text
        key = made.json()["key"]
        ISSUED_KEYS.append(key)
        assert key.startswith("t9k_test_") and made.json()["id"].startswith("ak_")
        assert (made.json()["name"], made.json()["environment"], made.json()["status"]) == (
            "payroll service",
            "sandbox",
            "active",
        )
        listed = http.get("/api_keys").json()
        assert [k["name"] for k in listed] == ["payroll service", "Default sandbox key"]
        assert all("key" not in k for k in listed)  # shown once, when made
        assert http.get(f"/api_keys/{made.json()['id']}").json()["key_hint"] == key[:9] + "…" + key[-4:]

        renamed = http.put(f"/api_keys/{made.json()['id']}", json={"name": "  payroll   v2 "})
        assert renamed.json()["name"] == "payroll v2"

        assert _works(api_url, key) == 200
        revoked = http.post(f"/api_keys/{made.json()['id']}/revoke")
        assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    answer = httpx.get(f"{api_url}/api/v1/entities", auth=(key, ""), timeout=30)
    assert answer.status_code == 401 and answer.json() == {
        "message": "Invalid API key",
        "error_code": "invalid_api_key",
    }
    saved = ten99policy.api_base, ten99policy.api_key, ten99policy.log
    ten99policy.api_base, ten99policy.api_key, ten99policy.log = api_url, key, None
    try:
        with pytest.raises(ten99policy.error.InvalidApiKeyError):
            ten99policy.Entities.list()
    finally:
        ten99policy.api_base, ten99policy.api_key, ten99policy.log = saved

    entries = _audit(session_factory, org.id)
    assert [(e.action, e.target) for e in entries] == [
        ("api_key.created", made.json()["id"]),
        ("api_key.renamed", made.json()["id"]),
        ("api_key.revoked", made.json()["id"]),
    ]
    assert entries[0].actor.startswith("API key t9k_test_") and entries[0].ip_address == "127.0.0.1"
    assert entries[1].detail == {"before": "payroll service", "after": "payroll v2"}
    assert all(key not in str(e.detail) for e in entries)


def test_a_rolled_key_keeps_working_for_its_overlap_then_stops(
    api_url: str, org: Org, session_factory: sessionmaker[Session]
) -> None:
    with _api(api_url, org.production_key) as http:
        [default] = http.get("/api_keys").json()
        assert default["environment"] == "production"
        rolled = http.post(f"/api_keys/{default['id']}/roll", json={"expires_in_hours": 2})
        assert rolled.status_code == 200, rolled.text
        new_key = rolled.json()["key"]
        ISSUED_KEYS.append(new_key)
        assert new_key.startswith("t9k_live_") and rolled.json()["name"] == "Default production key"
        old = http.get(f"/api_keys/{default['id']}").json()
        assert old["status"] == "expiring" and abs(old["expires_at"] - (time.time() + 7200)) < 60
    assert _works(api_url, org.production_key) == 200 and _works(api_url, new_key) == 200

    again = httpx.post(
        f"{api_url}/api/v1/api_keys/{default['id']}/roll", auth=(new_key, ""), json={}, timeout=30
    )
    assert again.status_code == 409 and again.json()["error_code"] == "api_key_already_rolled"

    with session_factory() as session:  # two hours later
        session.execute(
            update(ApiKey).where(ApiKey.public_id == default["id"]).values(expires_at=int(time.time()))
        )
        session.commit()
    assert _works(api_url, org.production_key) == 401
    assert _works(api_url, new_key) == 200

    # Rolled with no overlap, a key stops at once.
    with _api(api_url, new_key) as http:
        now_gone = http.post(f"/api_keys/{rolled.json()['id']}/roll", json={"expires_in_hours": 0}).json()
        ISSUED_KEYS.append(now_gone["key"])
    assert _works(api_url, new_key) == 401 and _works(api_url, now_gone["key"]) == 200
    rolls = [e for e in _audit(session_factory, org.id) if e.action == "api_key.rolled"]
    assert [e.detail["replaced_by"] for e in rolls] == [rolled.json()["id"], now_gone["id"]]


def test_bad_input_is_refused_and_changes_nothing(api_url: str, org: Org) -> None:
    with _api(api_url, org.sandbox_key) as http:
        [mine] = http.get("/api_keys").json()
        for path, body in (
            (f"/api_keys/{mine['id']}/roll", {"expires_in_hours": 169}),
            (f"/api_keys/{mine['id']}/roll", {"expires_in_hours": -1}),
            (f"/api_keys/{mine['id']}/roll", {"expires_in_hours": "a day"}),
            (f"/api_keys/{mine['id']}/roll", {"hours": 1}),
            ("/api_keys", {"name": "x" * 101}),
            ("/api_keys", {"name": "tab\tin\x07name"}),
        ):
            answer = http.post(path, json=body)
            assert answer.status_code == 400, (body, answer.text)
            assert answer.json()["error_code"] == "invalid_input"
        assert http.put(f"/api_keys/{mine['id']}", json={"name": "y" * 101}).status_code == 400
        assert http.post("/api_keys/ak_doesnotexist/revoke").status_code == 404
        assert http.get("/api_keys").json() == [mine]  # nothing made, rolled or renamed

        # A sandbox key does not see (or change) the production keys.
        production = httpx.get(f"{api_url}/api/v1/api_keys", auth=(org.production_key, ""), timeout=30)
        live_id = production.json()[0]["id"]
        assert http.get(f"/api_keys/{live_id}").status_code == 404
        assert http.post(f"/api_keys/{live_id}/revoke").status_code == 404
        assert _works(api_url, org.production_key) == 200

        spare = http.post("/api_keys", json={}).json()
        ISSUED_KEYS.append(spare["key"])
        assert spare["name"] == "" and http.post(f"/api_keys/{spare['id']}/revoke").status_code == 200
        twice = http.post(f"/api_keys/{spare['id']}/revoke")
        assert twice.status_code == 409 and twice.json()["error_code"] == "api_key_revoked"


def test_last_used_is_written_at_most_once_a_minute(
    api_url: str, org: Org, session_factory: sessionmaker[Session]
) -> None:
    def last_used() -> int | None:
        with session_factory() as session:
            return session.scalar(
                select(ApiKey.last_used_at).where(ApiKey.key_hash == hash_key(org.sandbox_key))
            )

    assert last_used() is None
    assert _works(api_url, org.sandbox_key) == 200
    first = last_used()
    assert first is not None and abs(first - time.time()) < 5

    with session_factory() as session:  # as if the last recorded use were 30 s ago
        session.execute(
            update(ApiKey).where(ApiKey.key_hash == hash_key(org.sandbox_key)).values(last_used_at=first - 30)
        )
        session.commit()
    for _ in range(3):
        assert _works(api_url, org.sandbox_key) == 200
    assert last_used() == first - 30  # within the minute: not written again

    with session_factory() as session:
        session.execute(
            update(ApiKey).where(ApiKey.key_hash == hash_key(org.sandbox_key)).values(last_used_at=first - 61)
        )
        session.commit()
    assert _works(api_url, org.sandbox_key) == 200
    assert abs((last_used() or 0) - time.time()) < 5
    with _api(api_url, org.sandbox_key) as http:
        assert http.get("/api_keys").json()[0]["last_used_at"] == last_used()


def test_note_use_writes_once_per_minute(session_factory: sessionmaker[Session], org: Org) -> None:
    with session_factory() as session:
        row = api_keys.authenticate(session, org.sandbox_key)
        assert api_keys.note_use(session, row, at=1_000_000) is True
        assert api_keys.note_use(session, row, at=1_000_059) is False  # within the minute: not even a query
        # Another process recorded a use meanwhile; this one, from what it read before, tries to record its
        # own: the conditional update finds the row already fresh and writes nothing.
        session.execute(update(ApiKey).where(ApiKey.id == row.id).values(last_used_at=1_000_030))
        session.commit()
        set_committed_value(row, "last_used_at", 999_000)
        assert api_keys.note_use(session, row, at=1_000_061) is False
        assert session.scalar(select(ApiKey.last_used_at).where(ApiKey.id == row.id)) == 1_000_030


def test_the_service_refuses_what_the_dashboard_could_send(
    session_factory: sessionmaker[Session], org: Org
) -> None:
    admin = Actor("admin@platform.example", member_id="mem_x", ip_address="203.0.113.9")
    with session_factory() as session:
        for call in (
            lambda: api_keys.create_key(session, org.id, admin, "staging"),
            lambda: api_keys.create_key(session, "org_nope", admin, "sandbox"),
            lambda: api_keys.roll_key(session, org.id, admin, "ak_nope"),
        ):
            with pytest.raises(api_keys.DomainError):
                call()
        issued = api_keys.create_key(session, org.id, admin, "production", "dashboard made")
        ISSUED_KEYS.append(issued.key)
        newest = api_keys.list_keys(session, org.id, "production")[0]
        assert newest.public_id == issued.row.public_id
        [entry] = [e for e in _audit(session_factory, org.id) if e.target == issued.row.public_id]
        assert (entry.actor, entry.member_id, entry.ip_address) == (
            "admin@platform.example",
            "mem_x",
            "203.0.113.9",
        )


def _manage(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GIGCOVER_DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_the_same_through_manage_py(
    api_url: str, org: Org, database_url: str, session_factory: sessionmaker[Session]
) -> None:
    made = _manage(database_url, "issue-key", org.id, "sandbox", "--name", "ops script")
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip()
    ISSUED_KEYS.append(key)
    assert _works(api_url, key) == 200
    listing = _manage(database_url, "list-keys", org.id, "sandbox")
    line = next(line for line in listing.stdout.splitlines() if "ops script" in line)
    key_id = line.split()[0]
    assert key_id.startswith("ak_") and "active" in line and key not in listing.stdout

    rolled = _manage(database_url, "roll-key", key_id, "--expires-in-hours", "0")
    assert rolled.returncode == 0, rolled.stderr
    new_key = rolled.stdout.split("(shown once): ")[1].split()[0]
    ISSUED_KEYS.append(new_key)
    assert _works(api_url, key) == 401 and _works(api_url, new_key) == 200

    new_id = rolled.stdout.split("new key ")[1].split()[0]
    assert _manage(database_url, "rename-key", new_id, "ops script v2").returncode == 0
    assert _manage(database_url, "revoke-key", new_id).returncode == 0
    assert _works(api_url, new_key) == 401

    refused = _manage(database_url, "roll-key", new_id, "--expires-in-hours", "500")
    assert refused.returncode == 1 and "expires_in_hours" in refused.stderr
    assert _manage(database_url, "revoke-key", "ak_nope").returncode == 1
    actions = [(e.action, e.actor) for e in _audit(session_factory, org.id)]
    assert actions == [
        ("api_key.created", "manage.py"),
        ("api_key.rolled", "manage.py"),
        ("api_key.renamed", "manage.py"),
        ("api_key.revoked", "manage.py"),
    ]


def test_a_replayed_answer_keeps_its_key_secret_and_a_revoked_key_gets_no_replay(
    api_url: str, org: Org, session_factory: sessionmaker[Session]
) -> None:
    headers = {"Idempotency-Key": f"make-a-key-{org.id}"}
    with _api(api_url, org.sandbox_key) as http:
        spare = http.post("/api_keys", json={"name": "spare"}).json()
        ISSUED_KEYS.append(spare["key"])
    with _api(api_url, spare["key"]) as http:
        first = http.post("/api_keys", json={"name": "ci"}, headers=headers)
        again = http.post("/api_keys", json={"name": "ci"}, headers=headers)
        ISSUED_KEYS.append(first.json()["key"])
        assert again.headers.get("idempotent-replayed") == "true" and again.json() == first.json()
        with session_factory() as session:  # as stored, not decrypted
            stored = session.scalar(
                text("SELECT response_body FROM idempotency_records WHERE key = :k"),
                {"k": headers["Idempotency-Key"]},
            )
        assert str(stored).startswith("fernet:") and first.json()["key"] not in str(stored)

        http.post(f"/api_keys/{spare['id']}/revoke")  # the key revokes itself
        replay = http.post("/api_keys", json={"name": "ci"}, headers=headers)
        assert replay.status_code == 401 and replay.json()["error_code"] == "invalid_api_key"
