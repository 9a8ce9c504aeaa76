"""The bare baseline of the latency benchmark: a FastAPI app that does the same database write as POST
/assignments (one assignments row) and the same read as GET /assignments/{id}, and nothing else."""

import os
import time
from typing import Any

from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from common.ids import new_id
from db.engine import make_engine, make_session_factory
from db.models import Assignment


def create_bare_app(factory: sessionmaker[Session], organization_id: str) -> FastAPI:
    app = FastAPI()

    @app.post("/assignments", status_code=201)
    def create(body: dict[str, Any]) -> dict[str, Any]:
        with factory() as session:
            row = Assignment(
                id=new_id("assignment"),
                organization_id=organization_id,
                environment="sandbox",
                created=int(time.time()),
                contractor_id=body["contractor"],
                job_id=body["job"],
                coverage_type=["workers-comp"],
                effective_date=body["effective_date"],
                end_date=body["end_date"],
                coverage_path="existing_policy",
                eligible_result=True,
                eligible_message="",
                payer="card",
                net_rate=0,
                premium=0,
            )
            session.add(row)
            session.commit()
            return {"id": row.id}

    @app.get("/assignments/{assignment_id}")
    def retrieve(assignment_id: str) -> dict[str, Any]:
        with factory() as session:
            row = session.scalar(select(Assignment).where(Assignment.id == assignment_id))
            return {"id": row.id if row else None}

    return app


def app_from_environment() -> FastAPI:
    """For ``python -m api.serve --app bench.bare_api:app_from_environment``, served like the real API."""
    engine = make_engine(os.environ["BARE_DATABASE_URL"])
    return create_bare_app(make_session_factory(engine), os.environ["BARE_ORGANIZATION_ID"])
