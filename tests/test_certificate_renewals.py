"""A certificate's workflow over real (skipped) weeks: Temporal's time-skipping test server, the real worker
and activities, a real SMTP server. 30 and 7 days before the coverage ends the contractor is emailed a
renewal request with an upload link, and at its end the platform gets ``certificate.lapsed``; a newer
upload for the contractor ends the older certificate's workflow early, with no reminder and no lapse."""

import asyncio
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from common.settings import Settings
from contracts.certificates import ReviewOutcome, certificate_workflow_id
from db.models import Certificate, Event, Organization
from documents.issuing import document_store
from domain.certificates import CertificateStatus
from outbox.dispatch import Dispatcher
from outbox.records import committed_items
from services import certificates
from services.certificates import UploadedFile
from services.tenancy import Tenant
from tests import certificate_factory as factory
from tests.histories import keep_history
from tests.support import Org, SmtpSink
from tests.test_certificate_uploads import add_requirement, new_contractor

TODAY = datetime.now(UTC).date()
DAY = 86_400


def _ending_in(days: int) -> bytes:
    """A good certificate whose policies expire ``days`` from today (the factory's run 305 days)."""
    return factory.flattened(factory.dated(TODAY - timedelta(days=305 - days)))


def _upload(
    session_factory: sessionmaker[Session], settings: Settings, org: Org, contractor: str, data: bytes
) -> str:
    with session_factory() as session:
        organization = session.get(Organization, org.id)
        assert organization is not None
        row = certificates.upload(
            session,
            document_store(settings),
            Tenant(organization, "sandbox"),
            contractor,
            UploadedFile("certificate.pdf", "application/pdf", data),
        )
        assert committed_items(session) == [("certificate", row.id)]
        return row.id


async def _start(
    env: WorkflowEnvironment, settings: Settings, session_factory: sessionmaker[Session], certificate_id: str
) -> WorkflowHandle[Any, Any]:
    """As the API does after the commit: the outbox's dispatcher starts the review."""
    dispatcher = Dispatcher(env.client, settings, session_factory, asyncio.get_running_loop())
    assert await dispatcher.dispatch([("certificate", certificate_id)]) == 1
    workflow_id = certificate_workflow_id(certificate_id)
    run = (await env.client.get_workflow_handle(workflow_id).describe()).run_id
    return env.client.get_workflow_handle(workflow_id, run_id=run, result_type=ReviewOutcome)


async def _result(env: WorkflowEnvironment, handle: WorkflowHandle[Any, Any]) -> ReviewOutcome:
    """The workflow's outcome, time skipping while we wait (the dispatcher's handle, which would do that
    itself, stays in the dispatcher), within a bound rather than forever."""
    async with env.time_skipping_unlocked():  # type: ignore[attr-defined]
        outcome: ReviewOutcome = await asyncio.wait_for(handle.result(), 300)
    return outcome


def _renewals(smtp_sink: SmtpSink, certificate_id: str) -> list[Any]:
    suffix = certificate_id.removeprefix("ci_")
    return [
        m
        for m in smtp_sink.messages
        if re.fullmatch(rf"<em_renew\d+_{suffix}@gigcover>", str(m["Message-ID"]))
    ]  # type: ignore[index]


def _events(session_factory: sessionmaker[Session], org: Org) -> list[tuple[str, str]]:
    with session_factory() as session:
        return [
            (e.type, e.data["id"])
            for e in session.scalars(select(Event).where(Event.organization_id == org.id).order_by(Event.seq))
        ]


async def test_renewal_reminders_at_30_and_7_days_then_the_lapse(
    skipping: WorkflowEnvironment,
    session_factory: sessionmaker[Session],
    settings: Settings,
    api_url: str,
    org: Org,
    smtp_sink: SmtpSink,
) -> None:
    await asyncio.to_thread(add_requirement, session_factory, org)
    contractor = await asyncio.to_thread(new_contractor, api_url, org.sandbox_key)
    certificate_id = await asyncio.to_thread(
        _upload, session_factory, settings, org, contractor, _ending_in(40)
    )
    handle = await _start(skipping, settings, session_factory, certificate_id)
    outcome = await _result(skipping, handle)
    assert outcome.status == "approved" and outcome.coverage_ends is not None
    await keep_history(handle, "certificate_reminded_then_lapsed")

    mails = _renewals(smtp_sink, certificate_id)
    assert sorted(m["Subject"] for m in mails) == [  # type: ignore[index]
        "Your certificate of insurance ends in 30 days: send the renewed one",
        "Your certificate of insurance ends in 7 days: send the renewed one",
    ]
    for mail in mails:
        text = str(mail.get_body(("plain",)).get_content())
        assert re.search(r"/certificates/[A-Za-z0-9_-]{40,}", text), text
    assert [t for t, i in _events(session_factory, org) if i == certificate_id] == [
        "certificate.approved",
        "certificate.lapsed",
    ]
    with session_factory() as session:
        row = session.scalar(select(Certificate).where(Certificate.id == certificate_id))
        assert row is not None and row.lapsed_at is not None and row.dispatched


async def test_a_newer_upload_ends_the_older_certificates_reminders(
    skipping: WorkflowEnvironment,
    session_factory: sessionmaker[Session],
    settings: Settings,
    api_url: str,
    org: Org,
    smtp_sink: SmtpSink,
) -> None:
    await asyncio.to_thread(add_requirement, session_factory, org)
    contractor = await asyncio.to_thread(new_contractor, api_url, org.sandbox_key)
    older = await asyncio.to_thread(_upload, session_factory, settings, org, contractor, _ending_in(100))
    old_handle = await _start(skipping, settings, session_factory, older)

    def reviewed() -> bool:
        with session_factory() as session:
            return session.scalar(select(Certificate.status).where(Certificate.id == older)) == "approved"

    for _ in range(600):
        if await asyncio.to_thread(reviewed):
            break
        await asyncio.sleep(0.1)
    newer = await asyncio.to_thread(_upload, session_factory, settings, org, contractor, _ending_in(300))
    await _start(skipping, settings, session_factory, newer)  # signals the older one first
    assert (await _result(skipping, old_handle)).status == "approved"
    await keep_history(old_handle, "certificate_superseded")
    history = await old_handle.fetch_history()
    scheduled = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    ]
    assert scheduled == ["read_certificate", "evaluate_certificate"]  # the signal ended it: no later step
    assert _renewals(smtp_sink, older) == []
    assert ("certificate.lapsed", older) not in _events(session_factory, org)
    with session_factory() as session:
        assert session.scalar(select(Certificate.superseded_by).where(Certificate.id == older)) == newer


async def test_an_upload_whose_api_process_died_after_the_commit_is_reviewed_from_the_sweep(
    skipping: WorkflowEnvironment,
    session_factory: sessionmaker[Session],
    settings: Settings,
    api_url: str,
    org: Org,
) -> None:
    await asyncio.to_thread(add_requirement, session_factory, org)
    contractor = await asyncio.to_thread(new_contractor, api_url, org.sandbox_key)
    # committed, and then nothing: the process that would have started its workflow is gone
    certificate_id = await asyncio.to_thread(
        _upload, session_factory, settings, org, contractor, _ending_in(3)
    )
    dispatcher = Dispatcher(skipping.client, settings, session_factory, asyncio.get_running_loop())
    assert await dispatcher.dispatch_undispatched(0) >= 1  # the outbox sweep's step
    workflow_id = certificate_workflow_id(certificate_id)
    run = (await skipping.client.get_workflow_handle(workflow_id).describe()).run_id
    handle = skipping.client.get_workflow_handle(workflow_id, run_id=run, result_type=ReviewOutcome)
    assert (await _result(skipping, handle)).status == "approved"
    assert [t for t, i in _events(session_factory, org) if i == certificate_id] == [
        "certificate.approved",
        "certificate.lapsed",
    ]
    with session_factory() as session:
        assert session.scalar(select(Certificate.dispatched).where(Certificate.id == certificate_id))


async def test_a_denied_certificate_gets_no_reminder_and_no_lapse(
    skipping: WorkflowEnvironment,
    session_factory: sessionmaker[Session],
    settings: Settings,
    api_url: str,
    org: Org,
    smtp_sink: SmtpSink,
) -> None:
    await asyncio.to_thread(add_requirement, session_factory, org)
    contractor = await asyncio.to_thread(new_contractor, api_url, org.sandbox_key)
    certificate_id = await asyncio.to_thread(
        _upload, session_factory, settings, org, contractor, _ending_in(40)
    )
    handle = await _start(skipping, settings, session_factory, certificate_id)

    def deny() -> bool:  # as a reviewer does once it was reviewed
        with session_factory() as session:
            row = session.scalar(select(Certificate).where(Certificate.id == certificate_id))
            if row is None or row.status != "approved":
                return False
            row.status = CertificateStatus.DENIED
            session.commit()
            return True

    for _ in range(600):
        if await asyncio.to_thread(deny):
            break
        await asyncio.sleep(0.1)
    assert (await _result(skipping, handle)).status == "approved"  # what the review concluded
    assert _renewals(smtp_sink, certificate_id) == []
    assert [t for t, i in _events(session_factory, org) if i == certificate_id] == ["certificate.approved"]
