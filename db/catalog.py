"""The job category catalog and its rates, loaded from ``data/`` and upserted (never duplicated)."""

import csv
import json
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import CategoryRate, JobCategory
from domain.coverage import CoverageType
from domain.rating import RateCard, RateRow

DATA_DIR = Path(__file__).resolve().parent.parent / "data"


def seed_catalog(session: Session, data_dir: Path = DATA_DIR) -> int:
    """Upsert every category and rate from the data files; returns the number of rate rows."""
    categories = json.loads((data_dir / "job_categories.json").read_text())
    id_by_code: dict[str, str] = {}
    for item in categories:
        category = session.get(JobCategory, item["id"]) or JobCategory(id=item["id"])
        category.code, category.name = item["code"], item["name"]
        category.description = item.get("description", "")
        session.add(category)
        id_by_code[item["code"]] = item["id"]
    session.flush()

    existing = {(r.category_id, r.state, r.coverage_type): r for r in session.scalars(select(CategoryRate))}
    count = 0
    with (data_dir / "rates.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            key = (id_by_code[row["category"]], row["state"], CoverageType(row["coverage_type"]).value)
            rate = existing.get(key) or CategoryRate(category_id=key[0], state=key[1], coverage_type=key[2])
            rate.net_rate = int(row["net_rate"])
            rate.stamping_fee = int(row["stamping_fee"])
            rate.risk_purchasing_group_fee = int(row["risk_purchasing_group_fee"])
            session.add(rate)
            count += 1
    session.commit()
    return count


def rate_card(session: Session, category_id: str) -> RateCard:
    # Plain rows rather than ORM objects: a category has a rate per state and coverage type, and loading
    # them as objects was a quarter of the API's CPU time on POST /assignments.
    rows = session.execute(
        select(
            CategoryRate.state,
            CategoryRate.coverage_type,
            CategoryRate.net_rate,
            CategoryRate.stamping_fee,
            CategoryRate.risk_purchasing_group_fee,
        ).where(CategoryRate.category_id == category_id)
    )
    return {
        (state, CoverageType(coverage_type)): RateRow(net_rate, stamping_fee, group_fee)
        for state, coverage_type, net_rate, stamping_fee, group_fee in rows
    }
