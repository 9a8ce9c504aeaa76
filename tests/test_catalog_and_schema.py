"""The seeded catalog covers every state, loads idempotently, and the migrations match the models."""

import csv
import json
from collections import Counter
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Enum, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from common.settings import Settings
from db.catalog import DATA_DIR, rate_card, seed_catalog
from db.engine import make_engine, make_session_factory
from db.migrate import ROOT as DB_ROOT
from db.migrate import upgrade_to_head
from db.models import Base, CategoryRate, JobCategory, Organization, Payment
from domain.coverage import CoverageType
from domain.geography import US_STATES
from domain.statuses import PaymentStatus
from services import assignments, contractors, entities, jobs
from services.assignments import AssignmentIn
from services.contractors import ContractorIn
from services.entities import EntityIn
from services.jobs import JobIn
from services.tenancy import Tenant
from tests.support import contractor_fields, entity_fields, job_fields, make_org, unique_email

NO_PRIVATE_WC = {"ND", "OH", "WA", "WY"}


def test_data_files_cover_all_states_and_coverage_types() -> None:
    categories = json.loads((DATA_DIR / "job_categories.json").read_text())
    assert len(categories) >= 15 and len({c["id"] for c in categories}) == len(categories)
    with (DATA_DIR / "rates.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    per_category = Counter((r["category"], r["coverage_type"]) for r in rows)
    for category in categories:
        assert per_category[(category["code"], "workers-comp")] == len(US_STATES) - len(NO_PRIVATE_WC)
        assert per_category[(category["code"], "general")] == len(US_STATES) - 1  # no GL for Hawaii residents
    assert all(0 < int(r["net_rate"]) < 1_000 for r in rows)
    assert {r["state"] for r in rows} == set(US_STATES)


def test_seeding_twice_changes_nothing(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        before = session.scalar(select(func.count()).select_from(CategoryRate))
        seed_catalog(session)
        assert session.scalar(select(func.count()).select_from(CategoryRate)) == before
        assert session.scalar(select(func.count()).select_from(JobCategory)) >= 15
        card = rate_card(session, "jc_fHDT3r1yqfEqZVPZ")
        assert ("OH", CoverageType.WORKERS_COMP) not in card
        assert card[("CA", CoverageType.WORKERS_COMP)].net_rate == 96


def test_migrations_match_the_models(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        context = MigrationContext.configure(session.connection())
        assert compare_metadata(context, Base.metadata) == []


def test_every_status_column_is_typed_by_its_enum_and_stores_the_enums_values(
    session_factory: sessionmaker[Session],
) -> None:
    """Statuses are enums in the code and the same plain strings in the database: values, never member names,
    in a VARCHAR with no CHECK and no native enum type (what the migrations made)."""
    typed = {
        f"{column.table.name}.{column.name}": column.type
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, Enum)
    }
    statuses = {f"{t.name}.status" for t in Base.metadata.sorted_tables if "status" in t.c}
    assert len(statuses) >= 10 and statuses <= typed.keys()
    assert {"application_sessions.step", "assignments.coverage_path", "assignments.payer"} <= typed.keys()
    for name, kind in typed.items():
        assert kind.enum_class is not None, name
        assert kind.enums == [m.value for m in kind.enum_class], name
        assert not kind.native_enum and not kind.create_constraint, name

    key = f"schema-check-{unique_email()}"
    with session_factory() as session:
        session.add(Payment(idempotency_key=key, amount=100, status=PaymentStatus.AUTHORIZED, created=0))
        session.commit()
        stored = session.execute(text("SELECT status FROM payments WHERE idempotency_key = :k"), {"k": key})
        value = stored.scalar_one()
        assert value == "authorized" and type(value) is str
        row = session.scalar(select(Payment).where(Payment.idempotency_key == key))
        assert row is not None
        session.expire(row)
        assert row.status is PaymentStatus.AUTHORIZED
        assert (
            session.scalar(
                select(func.count()).where(Payment.status == "authorized", Payment.idempotency_key == key)
            )
            == 1
        )
        session.delete(row)
        session.commit()


def test_migrations_go_down_and_up_again_on_a_populated_sqlite_database(tmp_path: Path) -> None:
    """Batch migrations rebuild SQLite tables; rebuilding one that other rows point at (organizations, which
    members, keys and contractors name) must not trip the foreign keys, down or up, and every reference
    holds afterwards."""
    url = f"sqlite:///{tmp_path / 'populated.db'}"
    config = Config(str(DB_ROOT / "alembic.ini"))
    config.attributes["url"] = url
    upgrade_to_head(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with factory() as session:
        seed_catalog(session)
    org = make_org(factory)
    with factory() as session:
        organization = session.get(Organization, org.id)
        assert organization is not None
        tenant = Tenant(organization, "sandbox")
        contractor = contractors.create_contractor(
            session,
            tenant,
            ContractorIn(**contractor_fields(unique_email())),  # type: ignore[arg-type]
        )
        entity = entities.create_entity(session, tenant, EntityIn(**entity_fields()))  # type: ignore[arg-type]
        job = jobs.create_job(session, tenant, JobIn(**job_fields(entity.id)))  # type: ignore[arg-type]
        body = AssignmentIn(contractor=contractor.id, job=job.id, coverage_type=["general"], bind=False)  # type: ignore[list-item]
        assignment = assignments.create_assignment(session, tenant, body, Settings())
        ids = (contractor.id, assignment.id)
    engine.dispose()

    command.downgrade(config, "0012")
    command.upgrade(config, "head")

    engine = make_engine(url)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        found = connection.exec_driver_sql(
            "SELECT contractor_id, id FROM assignments WHERE id = ?", (ids[1],)
        ).one()
        assert tuple(found) == ids
    engine.dispose()
