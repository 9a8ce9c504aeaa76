"""An uploaded contractor CSV holds tax ids: its file leaves the document store once its import finishes, and
a file never imported leaves it a day after upload (the lifecycle sweep, run by the real worker). The import's
report stays, without the file."""

import asyncio
import csv
import io
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from common.settings import Settings
from contracts.delivery import LIFECYCLE_SWEEP_WORKFLOW, LifecycleResult
from db.models import AuditEntry, Document
from domain.roles import Role
from tests.dashboard_support import add_member, form_token, signed_in
from tests.support import Org
from tests.test_dashboard_contractors import import_upload, upload

pytestmark = pytest.mark.usefixtures("worker")
HOUR = 3600


def _csv_with_ssns(count: int, tag: str) -> tuple[bytes, list[str]]:
    """``count`` contractors, each with an SSN (the last one refused: a bad phone)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["first_name", "last_name", "email", "phone", "address.line1", "address.locality",
                     "address.region", "address.postalcode", "tax_identification"])  # fmt: skip
    ssns = []
    for index in range(count):
        ssn = f"6{index:02d}-{int(tag) % 90 + 10:02d}-{7000 + index:04d}"
        ssns.append(ssn)
        phone = "12" if index == count - 1 else f"555-010-{index:04d}"
        writer.writerow(
            ["Sam", f"Payer{index}", f"ssn.{tag}.{index}@example.com", phone, "1 Main St", "Austin", "TX",
             "78701", ssn]
        )  # fmt: skip
    return out.getvalue().encode(), ssns


def _store(settings: Settings) -> Path:
    return settings.data_dir / "documents"


def _stored_files_text(settings: Settings) -> bytes:
    return b"\n".join(p.read_bytes() for p in _store(settings).rglob("*") if p.is_file())


def _document(factory: sessionmaker[Session], upload_id: str) -> Document:
    with factory() as session:
        document = session.scalar(select(Document).where(Document.id == upload_id))
        assert document is not None
        session.expunge(document)
        return document


def _lifecycle_sweep(temporal_address: str, settings: Settings) -> LifecycleResult:
    """The scheduled lifecycle sweep, run once now by the test's worker."""

    async def run() -> LifecycleResult:
        client = await Client.connect(temporal_address, data_converter=pydantic_data_converter)
        return await client.execute_workflow(
            LIFECYCLE_SWEEP_WORKFLOW,
            id=f"lifecycle-sweep-test-{time.time_ns()}",
            task_queue=settings.task_queue,
            result_type=LifecycleResult,
        )

    return asyncio.run(run())


def test_an_imported_files_tax_ids_leave_the_document_store_and_its_report_stays(
    api_url: str, org: Org, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    operator = add_member(session_factory, org.id, Role.OPERATOR)
    tag = str(time.time_ns() % 1000)
    data, ssns = _csv_with_ssns(4, tag)
    with signed_in(api_url, operator) as client:
        response = upload(client, data)
        assert response.status_code == 303, response.text
        upload_path = response.headers["location"]
        upload_id = upload_path.rsplit("/", 1)[1]
        stored = _store(settings) / _document(session_factory, upload_id).storage_key
        assert stored.read_bytes() == data  # kept while it may be imported
        report = import_upload(client, upload_path)
        assert (report["created"], report["refused_count"]) == (3, 1)

        assert not stored.exists()
        on_disk = _stored_files_text(settings)
        for ssn in ssns:
            assert ssn.encode() not in on_disk, f"{ssn} is still in the document store"
        page = client.get(f"{upload_path}/import")  # the report stays
        assert page.status_code == 200 and "Done." in page.text and 'id="file-deleted"' in page.text
        preview = client.get(upload_path)  # the file does not
        assert preview.status_code == 409 and "no longer kept" in preview.text
        token = form_token(client, "/dashboard/contractors/upload")
        assert client.post(f"{upload_path}/import", data={"csrf_token": token}).status_code == 409
    with httpx.Client(base_url=f"{api_url}/api/v1", auth=(org.sandbox_key, ""), timeout=30) as http:
        (imported,) = http.get("/contractors", params={"email": f"ssn.{tag}.0@example.com"}).json()
    assert imported["tax_identification"] == "*******" + ssns[0][-4:]  # the contractor keeps it, sealed
    document = _document(session_factory, upload_id)
    assert document.erased_at is not None and document.filename.endswith(".csv")
    with session_factory() as session:
        actions = set(session.scalars(select(AuditEntry.action).where(AuditEntry.target == upload_id)))
    assert {
        "contractor_import.uploaded",
        "contractor_import.finished",
        "contractor_import.file_deleted",
    } <= actions


def test_a_file_never_imported_leaves_the_store_a_day_after_upload(
    api_url: str,
    org: Org,
    session_factory: sessionmaker[Session],
    settings: Settings,
    temporal_address: str,
) -> None:
    operator = add_member(session_factory, org.id, Role.OPERATOR)
    old_data, old_ssns = _csv_with_ssns(2, str(time.time_ns() % 1000))
    new_data, _ = _csv_with_ssns(2, str(time.time_ns() % 1000 + 1))
    with signed_in(api_url, operator) as client:
        old_id = upload(client, old_data).headers["location"].rsplit("/", 1)[1]
        new_id = upload(client, new_data).headers["location"].rsplit("/", 1)[1]
    old_file = _store(settings) / _document(session_factory, old_id).storage_key
    new_file = _store(settings) / _document(session_factory, new_id).storage_key

    _lifecycle_sweep(temporal_address, settings)
    assert old_file.exists() and new_file.exists()  # both younger than a day

    with session_factory() as session:  # one of them was uploaded a day and an hour ago
        document = session.scalar(select(Document).where(Document.id == old_id))
        assert document is not None
        document.created -= 25 * HOUR  # the default retention is a day
        session.commit()
    swept = _lifecycle_sweep(temporal_address, settings)
    assert not old_file.exists() and new_file.exists()
    assert swept.deleted_uploads >= 1
    on_disk = _stored_files_text(settings)
    assert all(ssn.encode() not in on_disk for ssn in old_ssns)
    assert _lifecycle_sweep(temporal_address, settings).deleted_uploads == 0  # safe to repeat

    with signed_in(api_url, operator) as client:
        report = client.get(f"/dashboard/contractors/uploads/{old_id}/import")
        assert report.status_code == 200 and "never imported" in report.text
        assert client.get(f"/dashboard/contractors/uploads/{old_id}").status_code == 409
        assert client.get(f"/dashboard/contractors/uploads/{new_id}").status_code == 200
