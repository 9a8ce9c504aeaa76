"""/assignments and /invoices through the official client and the real worker on the dev server: each
coverage path with its reason, the seeds' own invoice examples, and the rules."""

import asyncio
import io
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import ten99policy
from pypdf import PdfReader
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from ten99policy import error

from common.ids import new_document_token, new_session_id
from common.settings import Settings
from db.models import ApplicationSession, PremiumAdjustment
from tests.histories import keep_history
from tests.support import Org, SmtpSink, contractor_fields, entity_fields, eventually, job_fields
from tests.test_assignment_workflow import save_card

pytestmark = pytest.mark.usefixtures("worker")
DAY = 86_400


def _job(**fields: object) -> tuple[str, str]:
    entity = ten99policy.Entities.create(**entity_fields())["id"]
    contractor = ten99policy.Contractors.create(**contractor_fields(email=f"c{time.time_ns()}@example.com"))[
        "id"
    ]
    return contractor, ten99policy.Jobs.create(**job_fields(entity, **fields))["id"]


def _opt_in(factory: sessionmaker[Session], org: Org, contractor: str, state: str) -> None:
    now = int(time.time())
    with factory() as session:
        session.add(
            ApplicationSession(
                id=new_session_id(),
                organization_id=org.id,
                environment="sandbox",
                created=now,
                token=new_document_token(),
                contractor_id=contractor,
                is_general_opt_in=True,
                work_state=state,
                coverage_type=["workers-comp"],
                success_url="https://x.example",
                cancel_url="https://x.example",
                status="APPLICATION_COMPLETE",
                step="application_complete",
                premium=0,
                withhold_premium=True,
                expires_at=now,
                dispatched=True,
                answers={},
                signature={},
            )
        )
        session.commit()


def _card_paid_assignment(
    factory: sessionmaker[Session], settings: Settings, org: Org, localstripe: str
) -> tuple[str, str, dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A contractor with a workers' comp policy and a saved card, and an assignment on their job:
    (contractor, job, quote, policy, assignment)."""
    contractor, job = _job()
    quote = ten99policy.Quotes.create(contractor=contractor, job=job, coverage_type=["workers-comp"])
    policy = ten99policy.Policies.create(quote=quote["id"])
    save_card(factory, settings, org, contractor, "4242424242424242", localstripe)
    assignment = ten99policy.Assignments.create(
        contractor=contractor,
        job=job,
        coverage_type=["workers-comp"],
        effective_date=quote["effective_date"],
        end_date=quote["end_date"],
    )
    return contractor, job, quote, policy, assignment


def test_a_matching_policy_is_reused_and_the_charge_is_scheduled(
    client: object, org: Org, session_factory: sessionmaker[Session], settings: Settings, localstripe: str
) -> None:
    contractor, job, quote, policy, assignment = _card_paid_assignment(
        session_factory, settings, org, localstripe
    )
    assert assignment["id"].startswith("an_")
    assert assignment["eligible"] == {
        "result": True,
        "message": f"Reusing matching active policy {policy['id']}",
    }
    assert (assignment["coverage_path"], assignment["policy"], assignment["payer"]) == (
        "existing_policy",
        policy["id"],
        "card",
    )
    live = eventually(
        lambda: (found := ten99policy.Assignments.retrieve(assignment["id"])).get("charge_due_at") and found,
        timeout=20,
    )
    assert live["status"] == "pending" and live["charge_due_at"] > time.time() + 23 * 3600

    # The seeds' own invoice examples: report the final pay, then change it while still unpaid.
    invoice = ten99policy.Invoices.create(
        contractor=contractor,
        job=job,
        gross_pay=300_000,
        paycycle_startdate=1714419793,
        paycycle_enddate=1714419793,
    )
    assert invoice["premium_due"] == 300_000 * quote["net_rate"] // 10_000 and invoice["status"] == "open"
    eventually(
        lambda: ten99policy.Assignments.retrieve(assignment["id"])["premium"] == invoice["premium_due"],
        timeout=20,
    )
    modified = ten99policy.Invoices.modify(invoice["id"], gross_pay=200_000)
    assert modified["premium_due"] == 200_000 * quote["net_rate"] // 10_000
    eventually(
        lambda: ten99policy.Assignments.retrieve(assignment["id"])["premium"] == modified["premium_due"],
        timeout=20,
    )
    replacement = ten99policy.Invoices.create(
        contractor=contractor,
        job=job,
        gross_pay=250_000,
        paycycle_startdate=1714419793,
        paycycle_enddate=1714419800,
    )
    assert ten99policy.Invoices.retrieve(invoice["id"])["status"] == "void"
    with pytest.raises(error.InvoiceUneditableAlreadyExistsError):
        ten99policy.Invoices.modify(invoice["id"], gross_pay=1000)
    assert [i["id"] for i in ten99policy.Invoices.list(contractor=contractor)] == [
        replacement["id"],
        invoice["id"],
    ]

    extended = ten99policy.Assignments._static_request(
        "post", "/api/v1/assignments/extend", job_id=job, end_date=quote["end_date"] + 5 * DAY
    )
    assert extended["end_date"] == quote["end_date"] + 5 * DAY
    with pytest.raises(error.EndDateInvalidError):
        ten99policy.Assignments._static_request(
            "post", "/api/v1/assignments/extend", job_id=job, end_date=quote["end_date"]
        )
    cancelled = ten99policy.Assignments._static_request(
        "post", "/api/v1/assignments/cancel", job_id=job, reason="contractor_request"
    )
    assert (cancelled["cancelled"], cancelled["cancellation_reason"], cancelled["status"]) == (
        True,
        "contractor_request",
        "cancelled",
    )
    assert ten99policy.Events.list(type="assignment.cancelled")[0]["data"]["id"] == assignment["id"]


def test_a_completed_general_opt_in_binds_new_coverage(
    client: object, org: Org, api_url: str, session_factory: sessionmaker[Session]
) -> None:
    contractor, job = _job()
    ten99policy.Contractors.modify(contractor, withhold_premium=True)
    _opt_in(session_factory, org, contractor, "CA")
    assignment = ten99policy.Assignments.create(
        contractor=contractor, job=job, coverage_type=["workers-comp"]
    )
    assert assignment["coverage_path"] == "general_opt_in" and assignment["payer"] == "remit"
    assert assignment["eligible"]["result"] is True and "general opt-in" in assignment["eligible"]["message"]
    eventually(lambda: ten99policy.Assignments.retrieve(assignment["id"])["status"] == "active", timeout=20)
    active = ten99policy.Assignments.retrieve(assignment["id"])
    assert active["policy"] and active["certificates"]["wc_coi_pdf_url"]
    assert httpx.get(active["certificates"]["wc_coi_pdf_url"]).status_code == 200
    bills = httpx.get(
        f"{api_url}/api/v1/bills", params={"contractor": contractor}, auth=(org.sandbox_key, "")
    ).json()
    assert [b["amount_due"] for b in bills] == [active["premium"]]


def test_extending_a_bound_assignment_extends_its_coverage_and_certificates(
    client: object, org: Org, api_url: str, session_factory: sessionmaker[Session]
) -> None:
    contractor, job = _job()
    ten99policy.Contractors.modify(contractor, withhold_premium=True)
    _opt_in(session_factory, org, contractor, "CA")
    assignment = ten99policy.Assignments.create(
        contractor=contractor, job=job, coverage_type=["workers-comp"]
    )
    eventually(lambda: ten99policy.Assignments.retrieve(assignment["id"])["status"] == "active", timeout=20)
    active = ten99policy.Assignments.retrieve(assignment["id"])
    old_end, new_end = active["end_date"], active["end_date"] + 30 * DAY
    old_certificate = active["certificates"]["wc_coi_pdf_url"]

    extended = ten99policy.Assignments._static_request(
        "post", "/api/v1/assignments/extend", job_id=job, end_date=new_end
    )

    # The policy covers the added weeks, and the assignment answers with certificates that say so.
    assert extended["end_date"] == new_end
    assert ten99policy.Policies.retrieve(active["policy"])["expiration_date"] == new_end
    certificate = extended["certificates"]["wc_coi_pdf_url"]
    assert certificate and certificate != old_certificate
    text = "\n".join(
        page.extract_text() for page in PdfReader(io.BytesIO(httpx.get(certificate).content)).pages
    )
    assert _certificate_date(new_end) in text and _certificate_date(old_end) not in text
    # The platform is told, with the new certificates.
    event = ten99policy.Events.list(type="assignment.extended")[0]["data"]
    assert (event["id"], event["end_date"], event["previous_end_date"]) == (
        assignment["id"],
        new_end,
        old_end,
    )
    assert event["certificates"]["wc_coi_pdf_url"] == certificate


def _certificate_date(ts: int) -> str:
    moment = datetime.fromtimestamp(ts, UTC)
    return f"{moment:%B} {moment.day}, {moment.year}"


@pytest.mark.parametrize(
    "case, expected",
    [
        ({"coverage_type": ["general"]}, "covers workers' compensation only"),
        ({"coverage_type": ["workers-comp"], "work_state": "NY"}, "No general opt-in found"),
    ],
)
def test_opt_in_fallbacks_send_an_application(
    client: object,
    org: Org,
    smtp_sink: SmtpSink,
    session_factory: sessionmaker[Session],
    case: dict[str, object],
    expected: str,
) -> None:
    contractor, job = _job(address={"region": case.get("work_state", "CA")})
    ten99policy.Contractors.modify(contractor, withhold_premium=True)
    _opt_in(session_factory, org, contractor, "CA")
    assignment = ten99policy.Assignments.create(
        contractor=contractor, job=job, coverage_type=case["coverage_type"]
    )
    assert assignment["coverage_path"] == "standard" and assignment["eligible"]["result"] is False
    assert expected in assignment["eligible"]["message"] and assignment["application_session"]
    session = ten99policy.InsuranceApplicationSessions.retrieve(assignment["application_session"])
    eventually(
        lambda: any(
            m["X-Gigcover-Kind"] == "application_link"
            and session["url"]  # type: ignore[index]
            in m.get_body(("plain",)).get_content()
            for m in smtp_sink.messages  # type: ignore[attr-defined]
        ),
        timeout=20,
    )


def test_assignment_and_invoice_rules(client: object) -> None:
    contractor, job = _job()
    not_bound = ten99policy.Assignments.create(contractor=contractor, job=job, bind=False)
    assert (not_bound["coverage_path"], not_bound["status"], not_bound["eligible"]["result"]) == (
        "not_bound",
        "not_bound",
        False,
    )
    with pytest.raises(error.NoActivePolicyError):
        ten99policy.Invoices.create(
            contractor=contractor,
            job=job,
            gross_pay=100_000,
            paycycle_startdate=1714419793,
            paycycle_enddate=1714419793,
        )
    with pytest.raises(error.InvalidInputError, match="paycycle_enddate"):
        ten99policy.Invoices.create(
            contractor=contractor,
            job=job,
            gross_pay=100_000,
            paycycle_startdate=1714419793,
            paycycle_enddate=1714419000,
        )
    with pytest.raises(error.InvalidContractorIdError):
        ten99policy.Assignments.create(contractor="cn_nope0000000000", job=job)
    with pytest.raises(error.InvalidAssignmentIdError):
        ten99policy.Assignments.retrieve("an_nope0000000000")


async def test_the_assignment_is_covered_once_its_application_completes(
    temporal_address: str, api_url: str, org: Org, session_factory: sessionmaker[Session]
) -> None:
    import asyncio

    from temporalio.client import Client
    from temporalio.contrib.pydantic import pydantic_data_converter

    from tests.test_application_workflow import DETAILS, GOOD_ANSWERS, SIGNATURE
    from workflows.application import ApplicationWorkflow

    async with httpx.AsyncClient(
        base_url=f"{api_url}/api/v1", auth=(org.sandbox_key, ""), timeout=30
    ) as http:
        entity = (await http.post("/entities", json=entity_fields())).json()["id"]
        contractor = (await http.post("/contractors", json=contractor_fields(withhold_premium=True))).json()[
            "id"
        ]
        job = (await http.post("/jobs", json=job_fields(entity))).json()["id"]
        assignment = (
            await http.post(
                "/assignments", json={"contractor": contractor, "job": job, "coverage_type": ["workers-comp"]}
            )
        ).json()
        assert assignment["coverage_path"] == "standard" and assignment["status"] == "awaiting_application"
        client = await Client.connect(temporal_address, data_converter=pydantic_data_converter)
        handle = client.get_workflow_handle(f"application-{assignment['application_session']}")
        for _ in range(100):
            try:
                await handle.describe()
                break
            except Exception:
                await asyncio.sleep(0.1)
        await handle.execute_update(ApplicationWorkflow.verify_info, DETAILS)
        await handle.execute_update(ApplicationWorkflow.answer_questions, GOOD_ANSWERS)
        await handle.execute_update(ApplicationWorkflow.sign, SIGNATURE)
        await handle.execute_update(ApplicationWorkflow.complete)
        covered = (await http.get(f"/assignments/{assignment['id']}")).json()
        assert (
            covered["status"] == "active" and covered["policy"] and covered["certificates"]["wc_coi_pdf_url"]
        )
        for _ in range(100):
            events = (await http.get("/events", params={"type": "assignment.active"})).json()
            if events:
                break
            await asyncio.sleep(0.1)
        assert events[0]["data"]["id"] == assignment["id"]


def _sweep(temporal_address: str, settings: Settings) -> None:
    """Runs the outbox sweep once, as its schedule does every minute."""
    from contracts.delivery import OUTBOX_SWEEP_WORKFLOW, SweepRequest, SweepResult

    async def run() -> None:
        await (await _temporal(temporal_address)).execute_workflow(
            OUTBOX_SWEEP_WORKFLOW,
            SweepRequest(older_than_seconds=0),
            id=f"outbox-sweep-test-{time.time_ns()}",
            task_queue=settings.task_queue,
            result_type=SweepResult,
        )

    asyncio.run(run())


async def _temporal(address: str) -> Client:
    return await Client.connect(address, data_converter=pydantic_data_converter)


def _unsent_adjustments(factory: sessionmaker[Session], assignment: str) -> list[tuple[str, int]]:
    with factory() as session:
        rows = session.scalars(
            select(PremiumAdjustment).where(
                PremiumAdjustment.assignment_id == assignment, PremiumAdjustment.dispatched.is_(False)
            )
        )
        return [(row.invoice_key, row.premium) for row in rows]


def _age_adjustments(factory: sessionmaker[Session], assignment: str) -> None:
    """Moves the assignment's adjustments 10 minutes into the past (the sweep leaves fresh ones to the
    request that committed them)."""
    with factory() as session:
        session.execute(
            update(PremiumAdjustment)
            .where(PremiumAdjustment.assignment_id == assignment)
            .values(created=PremiumAdjustment.created - 600)
        )
        session.commit()


def test_an_invoice_whose_api_process_died_before_the_workflow_heard_it_is_repriced_by_the_sweep(
    client: object,
    org: Org,
    session_factory: sessionmaker[Session],
    settings: Settings,
    localstripe: str,
    temporal_address: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    contractor, job, *_, created = _card_paid_assignment(session_factory, settings, org, localstripe)
    assignment = created["id"]
    eventually(lambda: ten99policy.Assignments.retrieve(assignment).get("charge_due_at"), timeout=20)
    invoice = dict(contractor=contractor, job=job, paycycle_startdate=1714419793, paycycle_enddate=1714419793)
    first = ten99policy.Invoices.create(gross_pay=300_000, **invoice)
    assert ten99policy.Assignments.retrieve(assignment)["premium"] == first["premium_due"]

    # The API process dies between committing the second invoice and telling the workflow.
    def died(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the API process died here")

    with monkeypatch.context() as patch:
        patch.setattr("services.workflow_calls.WorkflowCalls.update", died)
        with pytest.raises(error.Ten99PolicyError):
            ten99policy.Invoices.create(gross_pay=200_000, **invoice)
    second = ten99policy.Invoices.list(contractor=contractor)[0]
    assert (second["gross_pay"], second["status"]) == (200_000, "open")
    assert ten99policy.Assignments.retrieve(assignment)["premium"] == first["premium_due"]
    assert _unsent_adjustments(session_factory, assignment) == [(second["id"], second["premium_due"])]

    # A sweep leaves a fresh adjustment to its request; once that request must have given up, it sends it.
    _sweep(temporal_address, settings)
    assert ten99policy.Assignments.retrieve(assignment)["premium"] == first["premium_due"]
    assert _unsent_adjustments(session_factory, assignment) == [(second["id"], second["premium_due"])]
    _age_adjustments(session_factory, assignment)
    _sweep(temporal_address, settings)
    repriced = ten99policy.Assignments.retrieve(assignment)
    assert (repriced["premium"], repriced["status"]) == (second["premium_due"], "pending")
    assert _unsent_adjustments(session_factory, assignment) == []

    # Another invoice's request dies the same way, and a newer invoice replaces it before the sweep comes: the
    # sweep's late adjustment has been overtaken, so the workflow keeps the newest invoice's premium.
    with monkeypatch.context() as patch:
        patch.setattr("services.workflow_calls.WorkflowCalls.update", died)
        with pytest.raises(error.Ten99PolicyError):
            ten99policy.Invoices.create(gross_pay=100_000, **invoice)
    newest = ten99policy.Invoices.create(gross_pay=250_000, **invoice)
    assert ten99policy.Assignments.retrieve(assignment)["premium"] == newest["premium_due"]
    _age_adjustments(session_factory, assignment)
    _sweep(temporal_address, settings)
    assert _unsent_adjustments(session_factory, assignment) == []
    assert ten99policy.Assignments.retrieve(assignment)["premium"] == newest["premium_due"]

    async def record() -> None:
        handle = (await _temporal(temporal_address)).get_workflow_handle(f"assignment-{assignment}")
        await keep_history(handle, "assignment_adjustments_resent_by_the_sweep")

    asyncio.run(record())


def test_an_unbound_assignment_takes_new_terms_then_binds_and_a_bound_one_refuses(
    client: object, org: Org, session_factory: sessionmaker[Session], settings: Settings, localstripe: str
) -> None:
    """The official client's README: ``Assignments.modify("an_…", contractor="cn_…")``. Recorded without
    coverage (``bind: false``), an assignment is decided again with its new terms (nothing was bound or
    charged); ``bind: true`` then binds it (here from the new contractor's policy, and its charge is
    scheduled). Once bound, its terms are fixed: a 409 that says to cancel and create a new one."""
    first, job = _job()
    recorded = ten99policy.Assignments.create(contractor=first, job=job, bind=False)
    second, _, quote, policy, _ = _card_paid_assignment(session_factory, settings, org, localstripe)
    other_job = quote["job"]
    moved = ten99policy.Assignments.modify(
        recorded["id"],
        contractor=second,
        job=other_job,
        coverage_type=["workers-comp"],
        effective_date=quote["effective_date"],
        end_date=quote["end_date"],
    )
    assert (moved["contractor"], moved["job"], moved["coverage_path"], moved["status"]) == (
        second,
        other_job,
        "not_bound",
        "not_bound",
    )
    assert moved["premium"] == quote["premium_due"]  # rated for the new job
    bound = ten99policy.Assignments.modify(recorded["id"], bind=True)
    assert (bound["coverage_path"], bound["policy"], bound["status"]) == (
        "existing_policy",
        policy["id"],
        "pending",
    )
    eventually(lambda: ten99policy.Assignments.retrieve(recorded["id"]).get("charge_due_at"), timeout=20)
    refused = httpx.put(
        f"{ten99policy.api_base}/api/v1/assignments/{recorded['id']}",
        json={"contractor": first},
        auth=(str(ten99policy.api_key), ""),
        timeout=30,
    )
    assert refused.status_code == 409, refused.text
    assert refused.json()["error_code"] == "assignment_already_bound"
    assert "Cancel it" in refused.json()["message"] and "create a new assignment" in refused.json()["message"]
    assert ten99policy.Assignments.retrieve(recorded["id"])["contractor"] == second
