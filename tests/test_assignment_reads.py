"""Reading an assignment answers from its row: the workflow's steps store its status, money and the charge's
due time as they make them, so a read needs no Query to a worker (a busy worker answered late, and a read
waited up to a second for it). A row upgraded while in its notice window asks its workflow until charged."""

import asyncio
import time
from pathlib import Path

import pytest
import ten99policy
from alembic import command
from alembic.config import Config
from sqlalchemy import text, update
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from common.settings import Settings
from contracts.assignment import ASSIGNMENT_STATE, AssignmentState, assignment_workflow_id
from db.engine import make_engine, make_session_factory
from db.migrate import ROOT as DB_ROOT
from db.models import CHARGE_DUE_UNKNOWN, Assignment
from services.workflow_calls import WorkflowCalls
from tests.support import Org, eventually
from tests.test_assignments_api import _card_paid_assignment

pytestmark = pytest.mark.usefixtures("worker")


def _workflow_state(address: str, assignment_id: str) -> AssignmentState:
    async def ask() -> AssignmentState:
        client = await Client.connect(address, data_converter=pydantic_data_converter)
        handle = client.get_workflow_handle(assignment_workflow_id(assignment_id))
        return await handle.query(ASSIGNMENT_STATE.name, result_type=ASSIGNMENT_STATE.result_type)

    return asyncio.run(ask())


def test_an_assignment_in_its_notice_window_is_read_from_its_row_as_its_workflow_sees_it(
    client: object,
    org: Org,
    session_factory: sessionmaker[Session],
    settings: Settings,
    localstripe: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    *_, assignment = _card_paid_assignment(session_factory, settings, org, localstripe)
    found = eventually(
        lambda: (a := ten99policy.Assignments.retrieve(assignment["id"]))["charge_due_at"] and a
    )
    state = _workflow_state(settings.temporal_address, assignment["id"])
    assert state.charge_due_at and state.charge_due_at > time.time() + 23 * 3600

    def no_query(*_args: object) -> None:
        raise AssertionError("a read asked the workflow")

    monkeypatch.setattr(WorkflowCalls, "query", no_query)
    found = ten99policy.Assignments.retrieve(assignment["id"])
    assert (found["status"], found["premium"], found["premium_collected"], found["charge_due_at"]) == (
        state.status,
        state.premium,
        state.collected,
        state.charge_due_at,
    )
    [listed] = [a for a in ten99policy.Assignments.list(limit=100) if a["id"] == assignment["id"]]
    assert listed["charge_due_at"] == state.charge_due_at  # the list says the same as the retrieve


def test_a_row_upgraded_in_its_notice_window_asks_its_workflow_for_the_due_time(
    client: object, org: Org, session_factory: sessionmaker[Session], settings: Settings, localstripe: str
) -> None:
    *_, assignment = _card_paid_assignment(session_factory, settings, org, localstripe)
    eventually(lambda: ten99policy.Assignments.retrieve(assignment["id"])["charge_due_at"])
    with session_factory() as session:  # as migration 0012 leaves a row it cannot know the due time of
        session.execute(
            update(Assignment)
            .where(Assignment.id == assignment["id"])
            .values(charge_due_at=CHARGE_DUE_UNKNOWN)
        )
        session.commit()
    state = _workflow_state(settings.temporal_address, assignment["id"])
    assert ten99policy.Assignments.retrieve(assignment["id"])["charge_due_at"] == state.charge_due_at
    [listed] = [a for a in ten99policy.Assignments.list(limit=100) if a["id"] == assignment["id"]]
    assert listed["charge_due_at"] is None  # a list asks no workflow: unknown is shown as unknown


def test_the_migration_marks_only_uncharged_card_assignments_as_asking_their_workflow(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'before-0012.db'}"
    config = Config(str(DB_ROOT / "alembic.ini"))
    config.attributes["url"] = url
    command.upgrade(config, "0011")
    factory = make_session_factory(make_engine(url))
    columns = (
        "id, organization_id, environment, created, contractor_id, job_id, coverage_type, effective_date, "
        "end_date, bind, coverage_path, eligible_result, eligible_message, payer, net_rate, premium, status, "
        "charged, certificates, cancelled, dispatched"
    )
    rows = {  # id: (payer, status, charged, cancelled)
        "an_waiting": ("card", "pending", 0, 0),
        "an_charged": ("card", "active", 500, 0),
        "an_billed": ("remit", "pending", 0, 0),
        "an_cancelled": ("card", "pending", 0, 1),
    }
    with factory() as session:
        session.execute(text("PRAGMA foreign_keys=OFF"))  # the rows alone, without their tenant and job
        for row_id, (payer, status, charged, cancelled) in rows.items():
            session.execute(
                text(
                    f"INSERT INTO assignments ({columns}) VALUES (:id, 'org_x', 'sandbox', 1, 'cn_x', "
                    "'jb_x', '[\"workers-comp\"]', 1, 2, 1, 'existing_policy', 1, '', :payer, 10, 500, "
                    ":status, :charged, '{}', :cancelled, 1)"
                ),
                {"id": row_id, "payer": payer, "status": status, "charged": charged, "cancelled": cancelled},
            )
        session.commit()
    command.upgrade(config, "head")
    with factory() as session:
        due = dict(session.execute(text("SELECT id, charge_due_at FROM assignments")).all())
    assert due == {
        "an_waiting": CHARGE_DUE_UNKNOWN,
        "an_charged": None,
        "an_billed": None,
        "an_cancelled": None,
    }
