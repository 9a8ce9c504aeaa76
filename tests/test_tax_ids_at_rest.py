"""Contractors' tax ids (SSNs, EINs) are stored encrypted like the other secrets (db/sealed.py): a contractor
made through the API leaves no plain tax id in the database or its file, the API shows the last four digits
as before, and the migration encrypts tax ids an older release stored in plain text."""

import subprocess
from pathlib import Path

import httpx
from alembic import command
from alembic.config import Config
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from common.encryption import PREFIX, box
from db.engine import make_engine, make_session_factory
from db.migrate import ROOT as DB_ROOT
from db.models import Contractor
from tests.support import Org, unique_email

SSN, EIN = "521-33-0417", "94-1234567"


def _raw(factory: sessionmaker[Session], sql: str, **params: object) -> list[tuple[object, ...]]:
    """Rows as stored, not decrypted."""
    with factory() as session:
        return [tuple(row) for row in session.execute(text(sql), params)]


def _database_files(database_url: str) -> bytes:
    """The SQLite file and its write-ahead log (read by another process: see test_secrets_at_rest)."""
    path = Path(database_url.removeprefix("sqlite:///"))
    return subprocess.run(["cat", str(path), f"{path}-wal"], capture_output=True, check=False).stdout


def _contractor(tax_id: str) -> dict[str, object]:
    return {
        "first_name": "Tess",
        "last_name": "Payer",
        "email": unique_email("taxid"),
        "phone": "555-010-0000",
        "address": {"line1": "1 Main St", "locality": "Austin", "region": "TX", "postalcode": "78701"},
        "tax_identification": tax_id,
    }


def test_a_contractors_tax_id_is_encrypted_in_the_database_and_shown_as_its_last_four_digits(
    api_url: str, org: Org, session_factory: sessionmaker[Session], database_url: str
) -> None:
    with httpx.Client(base_url=f"{api_url}/api/v1", auth=(org.sandbox_key, ""), timeout=30) as http:
        created = http.post("/contractors", json=_contractor(SSN))
        assert created.status_code == 201, created.text
        contractor = created.json()
        assert contractor["tax_identification"] == "*******0417"
        assert http.get(f"/contractors/{contractor['id']}").json()["tax_identification"] == "*******0417"
        changed = http.put(f"/contractors/{contractor['id']}", json={"tax_identification": EIN}).json()
        assert changed["tax_identification"] == "******4567"
        other = http.post("/contractors", json=_contractor(SSN)).json()

    stored = _raw(
        session_factory,
        "SELECT tax_identification FROM contractors WHERE id IN (:a, :b)",
        a=contractor["id"],
        b=other["id"],
    )
    assert len(stored) == 2
    for (value,) in stored:
        assert isinstance(value, str) and value.startswith(PREFIX)
        assert SSN not in value and EIN not in value
    everything = "\n".join(
        repr(row)
        for table in ("contractors", "events", "idempotency_records", "audit_entries")
        for row in _raw(session_factory, f'SELECT * FROM "{table}"')
    )
    for plain in (SSN, EIN, SSN.replace("-", ""), EIN.replace("-", "")):
        assert plain not in everything
    if database_url.startswith("sqlite"):
        on_disk = _database_files(database_url)
        assert SSN.encode() not in on_disk and EIN.encode() not in on_disk

    with session_factory() as session:  # the code reads plain text
        row = session.scalar(select(Contractor).where(Contractor.id == contractor["id"]))
        assert row is not None and row.tax_identification == EIN


def _alembic(url: str) -> Config:
    config = Config(str(DB_ROOT / "alembic.ini"))
    config.attributes["url"] = url
    return config


def test_the_migration_encrypts_tax_ids_stored_in_plain_text(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'legacy.db'}"
    command.upgrade(_alembic(url), "0012")  # as the release before this one left it
    factory = make_session_factory(make_engine(url))
    with factory() as session:
        session.execute(
            text(
                "INSERT INTO organizations (id, name, withhold_premium, created) "
                "VALUES ('org_old', 'Old', 0, 1)"
            )
        )
        for seq, tax_id in ((1, SSN), (2, None)):
            session.execute(
                text(
                    "INSERT INTO contractors (seq, id, organization_id, environment, created, first_name, "
                    "last_name, email, phone, tax_identification, address, custom_metadata) VALUES (:seq, "
                    ":id, 'org_old', 'sandbox', 1, 'A', 'B', :email, '5550100000', :tax, '{}', '{}')"
                ),
                {"seq": seq, "id": f"cn_old{seq}", "email": f"{seq}@example.com", "tax": tax_id},
            )
        session.commit()

    command.upgrade(_alembic(url), "head")
    stored = dict(_raw(factory, "SELECT id, tax_identification FROM contractors"))
    assert stored["cn_old2"] is None
    assert str(stored["cn_old1"]).startswith(PREFIX) and box().open(str(stored["cn_old1"])) == SSN
    with factory() as session:
        row = session.scalar(select(Contractor).where(Contractor.id == "cn_old1"))
        assert row is not None and row.tax_identification == SSN

    command.downgrade(_alembic(url), "0012")  # and back: plain text again, as 0012 reads it
    assert dict(_raw(factory, "SELECT id, tax_identification FROM contractors")) == {
        "cn_old1": SSN,
        "cn_old2": None,
    }
