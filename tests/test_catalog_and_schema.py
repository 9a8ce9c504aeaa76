"""The seeded catalog covers every state, loads idempotently, and the migrations match the models."""

import csv
import json
from collections import Counter

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from db.catalog import DATA_DIR, rate_card, seed_catalog
from db.models import Base, CategoryRate, JobCategory
from domain.coverage import CoverageType
from domain.geography import US_STATES

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
