"""Contractors from a CSV file: the columns are the contractor object's fields (``address.line1``,
``custom_metadata.<key>``…), each row is judged as the API would judge it as a request body, and an import
creates each good row once.

The idempotency key is the contractor's email within the organization and environment, compared without
regard to case: the rule the API already enforces (``duplicate_email``). A row whose email already names a
contractor is skipped, so uploading the same file again (or an overlapping one) creates nothing new. An
import runs in batches (a Temporal workflow, workflows/contractor_import.py); each batch is one transaction
that also writes its audit entry, and a retried batch that finds its entry returns what it recorded instead
of counting its own contractors as already existing.

The uploaded file is kept as a Document (kind ``contractor_import``) in the document store the worker reads
certificates from; its id names the import. The file holds people's SSNs, so it is kept only as long as it is
needed: its bytes are deleted from the store when its import finishes, and by the lifecycle sweep once an
upload was left unimported for ``upload_retention_seconds`` (a day by default). What stays is the Document
row (file name, size), the audit entries (rows, the file's SHA-256, the counts of each batch and of the
import) and the import's report (counts, and each refused row's number, email and reason): no tax id."""

import csv
import hashlib
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from common.ids import new_document_token
from common.schemas import Address, has_nul
from common.settings import Settings
from common.validation import describe_for_people, validated
from contracts.contractor_import import (
    CONTRACTOR_IMPORT_WORKFLOW,
    PROGRESS,
    BatchResult,
    ImportProgress,
    ImportRequest,
    RowProblem,
    contractor_import_workflow_id,
)
from db.models import AuditEntry, Document
from documents.storage import DocumentStore
from domain.errors import DomainError, Refusal, invalid, not_found, unavailable
from domain.statuses import ImportStatus
from services import audit
from services.audit import Actor
from services.contractors import ContractorIn, add_contractor, duplicate_email, existing_emails
from services.lookups import get_owned, now
from services.tenancy import Tenant
from services.workflow_calls import WorkflowCalls

KIND = "contractor_import"
METADATA = "custom_metadata."
MAX_ROWS = 20_000
BATCH_ROWS = 200
START_TIMEOUT = 10.0
STARTED, BATCH, FINISHED, ERASED = (
    "contractor_import.started",
    "contractor_import.batch",
    "contractor_import.finished",
    "contractor_import.file_deleted",
)
STUCK_SECONDS = 7 * 86_400  # an import started this long ago and still unfinished will not need its file
SWEEPER = Actor("lifecycle sweep")
ERASED_MESSAGE = (
    "This file is no longer kept (it holds tax ids): it is deleted once imported, or a day after upload "
    "when never imported. Its import report stays; to import it now, upload it again."
)


def _columns() -> list[str]:
    """ContractorIn's fields, in its order, the address flattened; metadata columns are open-ended."""
    columns: list[str] = []
    for name in ContractorIn.model_fields:
        if name == "address":
            columns.extend(f"address.{part}" for part in Address.model_fields)
        elif name != "custom_metadata":
            columns.append(name)
    return columns


COLUMNS = _columns()
REQUIRED = [
    c
    for c in COLUMNS
    if (ContractorIn.model_fields[c.split(".")[0]].is_required())
    and (not c.startswith("address.") or Address.model_fields[c.split(".", 1)[1]].is_required())
]
TEMPLATE_COLUMNS = [*COLUMNS, f"{METADATA}external_id"]


def template_csv() -> str:
    """The header row of a file to fill in (one example metadata column: add as many as needed)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(TEMPLATE_COLUMNS)
    return out.getvalue()


@dataclass(frozen=True)
class CsvRow:
    number: int  # the row as a spreadsheet numbers it: the header is row 1
    cells: dict[str, str]
    overflow: bool = False  # more cells than the header has columns

    @property
    def email(self) -> str:
        return self.cells.get("email", "").strip()

    @property
    def name(self) -> str:
        return " ".join(
            p
            for p in (self.cells.get("first_name", "").strip(), self.cells.get("last_name", "").strip())
            if p
        )


def _check_header(header: list[str]) -> list[str]:
    columns = [h.strip().lower() for h in header]
    seen: set[str] = set()
    for column in columns:
        if not column:
            continue
        if column in seen:
            raise invalid(f"{column}: the column appears twice in the header row", "file")
        seen.add(column)
        if column not in COLUMNS and not (column.startswith(METADATA) and len(column) > len(METADATA)):
            raise invalid(
                f"{column}: unknown field (the columns are the contractor's fields: "
                f"{', '.join(COLUMNS)}, and custom_metadata.<key> for metadata)",
                "file",
                unknown_column=column,
            )
    if "email" not in seen:
        raise invalid("email: the file needs an email column (it names each contractor)", "file")
    return columns


def parse(data: bytes) -> list[CsvRow]:
    """The file's rows (blank ones left out, the others keeping their spreadsheet row number). A file that
    cannot be read as a whole is refused with why."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise invalid(
            "The file is not UTF-8 text: in your spreadsheet, save it as \u201cCSV UTF-8\u201d and upload "
            "it again",
            "file",
        ) from None
    if has_nul(text):
        raise invalid("The file is not a CSV file (it contains NUL characters)", "file")
    reader = csv.reader(io.StringIO(text, newline=""))
    rows: list[CsvRow] = []
    try:
        header = next(reader, None)
        if header is None or not any(h.strip() for h in header):
            raise invalid(
                "The file is empty: the first row must name the columns (download the template)", "file"
            )
        columns = _check_header(header)
        for number, record in enumerate(reader, start=2):
            if not any(cell.strip() for cell in record):
                continue
            if len(rows) == MAX_ROWS:
                raise invalid(
                    f"The file has more than {MAX_ROWS} rows: split it and upload each part", "file"
                )
            named = {c: v for c, v in zip(columns, record, strict=False) if c}
            unnamed = any(v.strip() for c, v in zip(columns, record, strict=False) if not c)
            rows.append(CsvRow(number, named, unnamed or len(record) > len(columns)))
    except csv.Error as error:
        raise invalid(f"Row {reader.line_num}: the file is not valid CSV ({error})", "file") from None
    return rows


def body_of(row: CsvRow) -> dict[str, Any]:
    """The row as the API's request body: ``address.line1`` nests, an empty cell is a field left out."""
    body: dict[str, Any] = {}
    for column, raw in row.cells.items():
        value = raw.strip()
        if not value:
            continue
        parent, dot, child = column.partition(".")
        if dot:
            body.setdefault(parent, {})[child] = value
        else:
            body[column] = value
    return body


class Outcome(StrEnum):
    NEW = "new"  # will be (or was) created
    EXISTS = "exists"  # a contractor has this email already: skipped
    REFUSED = "refused"  # the API would refuse this row: why is in the reason


@dataclass(frozen=True)
class Verdict:
    row: CsvRow
    outcome: Outcome
    reason: str | None = None
    body: ContractorIn | None = None


def _validate(row: CsvRow, first_row_of: dict[str, int]) -> Verdict:
    if row.overflow:
        return Verdict(row, Outcome.REFUSED, "This row has more cells than the header row has columns")
    try:
        body = validated(ContractorIn, body_of(row))
    except DomainError as error:  # said for the people who fixed the file, not as the API says it
        problems = error.facts.get("problems")
        reason = describe_for_people(problems) if isinstance(problems, list) else error.message
        return Verdict(row, Outcome.REFUSED, reason)
    first = first_row_of.get(body.email.lower())
    if first is not None and first != row.number:
        return Verdict(
            row, Outcome.REFUSED, f"{duplicate_email(body.email).message} (row {first} of this file)"
        )
    return Verdict(row, Outcome.NEW, body=body)


def first_rows(rows: Sequence[CsvRow]) -> dict[str, int]:
    """Each email's first row in the file (a later row with the same email is refused)."""
    first: dict[str, int] = {}
    for row in rows:
        first.setdefault(row.email.lower(), row.number)
    return first


@dataclass
class Preview:
    rows: int
    new: list[Verdict] = field(default_factory=list)
    existing: list[Verdict] = field(default_factory=list)
    refused: list[Verdict] = field(default_factory=list)


def preview(session: Session, tenant: Tenant, rows: Sequence[CsvRow]) -> Preview:
    """What an import would do now: validation as the API's, then the emails already taken, in bulk."""
    first = first_rows(rows)
    verdicts = [_validate(row, first) for row in rows]
    taken = existing_emails(session, tenant, [v.body.email for v in verdicts if v.body is not None])
    result = Preview(rows=len(rows))
    for verdict in verdicts:
        if verdict.body is not None and verdict.body.email.lower() in taken:
            result.existing.append(
                Verdict(verdict.row, Outcome.EXISTS, duplicate_email(verdict.body.email).message)
            )
        elif verdict.outcome is Outcome.NEW:
            result.new.append(verdict)
        else:
            result.refused.append(verdict)
    return result


# The uploaded file ----------------------------------------------------------------------------------------

SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def store_upload(
    session: Session, store: DocumentStore, tenant: Tenant, filename: str, data: bytes, actor: Actor
) -> tuple[Document, list[CsvRow]]:
    """Keep an uploaded file once it parses (refused with why otherwise); committed, with its audit entry."""
    rows = parse(data)
    name = (
        SAFE_NAME.sub("-", filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]).strip("-.")[:150] or "contractors"
    )
    if not name.lower().endswith(".csv"):
        name += ".csv"
    document = Document.new(
        tenant,
        kind=KIND,
        token=new_document_token(),  # never shown: the file is read only through the dashboard
        filename=name,
        content_type="text/csv",
        size=len(data),
        storage_key="",
    )
    document.storage_key = f"{tenant.organization_id}/imports/{document.id}.csv"
    store.put(document.storage_key, data)
    session.add(document)
    audit.record(
        session,
        tenant.organization_id,
        actor,
        "contractor_import.uploaded",
        document.id,
        environment=tenant.environment,
        filename=name,
        rows=len(rows),
        sha256=hashlib.sha256(data).hexdigest(),
    )
    session.commit()
    return document, rows


def get_upload(session: Session, tenant: Tenant, upload_id: str) -> Document:
    document = get_owned(session, Document, tenant, upload_id, "invalid_upload_id", "upload")
    if document.kind != KIND:
        raise not_found("invalid_upload_id", "upload", upload_id)
    return document


def read_upload(
    session: Session, store: DocumentStore, tenant: Tenant, upload_id: str
) -> tuple[Document, list[CsvRow]]:
    """The upload's rows, from its file; refused once the file was deleted."""
    document = get_upload(session, tenant, upload_id)
    if document.erased_at is not None:
        raise DomainError("upload_deleted", ERASED_MESSAGE, "upload", Refusal.CONFLICT)
    return document, parse(store.get(document.storage_key))


def _erase(session: Session, store: DocumentStore, document: Document, actor: Actor, why: str) -> None:
    """Delete the upload's file from the store (the row stays, marked), with its audit entry; committed."""
    store.delete(document.storage_key)
    document.erased_at = now()
    audit.record(
        session,
        document.organization_id,
        actor,
        ERASED,
        document.id,
        environment=document.environment,
        reason=why,
    )
    session.commit()


def _has_entry(session: Session, document: Document, action: str) -> bool:
    found = session.scalar(
        select(AuditEntry.id).where(
            AuditEntry.organization_id == document.organization_id,
            AuditEntry.at >= document.created,
            AuditEntry.action == action,
            AuditEntry.target == document.id,
        )
    )
    return found is not None


def erase_abandoned_uploads(session: Session, store: DocumentStore, moment: int, kept_seconds: int) -> int:
    """Delete the files of uploads older than ``kept_seconds`` that were never imported (or whose import
    finished, or started a week ago and never finished); returns how many. Safe to repeat."""
    stale = session.scalars(
        select(Document).where(
            Document.kind == KIND,
            Document.erased_at.is_(None),
            Document.created <= moment - kept_seconds,
        )
    ).all()
    erased = 0
    for document in stale:
        if not _has_entry(session, document, STARTED):
            why = "never imported"
        elif _has_entry(session, document, FINISHED):
            why = "imported"
        elif document.created <= moment - STUCK_SECONDS:
            why = "import never finished"
        else:
            continue  # its import is running: it reads the file
        _erase(session, store, document, SWEEPER, why)
        erased += 1
    return erased


# An import, one batch at a time ---------------------------------------------------------------------------


def import_batch(
    session: Session,
    store: DocumentStore,
    tenant: Tenant,
    upload_id: str,
    batch: int,
    actor: Actor,
    batch_rows: int = BATCH_ROWS,
) -> BatchResult:
    """Create the good rows of batch number ``batch`` (0-based) in one transaction, with its audit entry;
    again for the same batch, the entry's record (nothing is created twice)."""
    document, rows = read_upload(session, store, tenant, upload_id)
    target = f"{document.id}#{batch}"
    done = session.scalar(
        select(AuditEntry).where(
            AuditEntry.organization_id == tenant.organization_id,
            AuditEntry.at >= document.created,
            AuditEntry.action == BATCH,
            AuditEntry.target == target,
        )
    )
    chosen = rows[batch * batch_rows : (batch + 1) * batch_rows]
    first = first_rows(rows)
    verdicts = [_validate(row, first) for row in chosen]
    refused = [
        RowProblem(row=v.row.number, email=v.row.email, reason=v.reason or "")
        for v in verdicts
        if v.body is None
    ]
    if done is not None:  # committed before: what it did, and the refusals again (they follow from the file)
        return BatchResult(
            rows=len(chosen),
            created=done.detail["created"],
            existing=done.detail["existing"],
            refused=refused,
        )
    result = BatchResult(rows=len(chosen), refused=refused)
    for verdict in verdicts:
        if verdict.body is None:
            continue
        try:
            add_contractor(session, tenant, verdict.body)
        except DomainError as error:
            if error.code != "duplicate_email":
                raise
            result.existing += 1
            continue
        result.created += 1
    if chosen:
        audit.record(
            session,
            tenant.organization_id,
            actor,
            BATCH,
            target,
            environment=tenant.environment,
            rows=f"{chosen[0].number}-{chosen[-1].number}",
            created=result.created,
            existing=result.existing,
            refused=len(result.refused),
        )
    session.commit()
    return result


def batches(rows: int, batch_rows: int = BATCH_ROWS) -> int:
    return (rows + batch_rows - 1) // batch_rows


def record_finished(
    session: Session,
    store: DocumentStore,
    tenant: Tenant,
    upload_id: str,
    actor: Actor,
    created: int,
    existing: int,
    refused: int,
) -> None:
    """The import's summary in the audit log (once), which also answers for it once Temporal forgets it;
    then the uploaded file, no longer needed, is deleted from the store."""
    document = get_upload(session, tenant, upload_id)
    if finished_entry(session, tenant, document) is None:
        audit.record(
            session,
            tenant.organization_id,
            actor,
            FINISHED,
            document.id,
            environment=tenant.environment,
            created=created,
            existing=existing,
            refused=refused,
            finished_at=now(),
        )
        session.commit()
    if document.erased_at is None:
        _erase(session, store, document, actor, "imported")


def finished_entry(session: Session, tenant: Tenant, document: Document) -> AuditEntry | None:
    return session.scalar(
        select(AuditEntry).where(
            AuditEntry.organization_id == tenant.organization_id,
            AuditEntry.at >= document.created,
            AuditEntry.action == FINISHED,
            AuditEntry.target == document.id,
        )
    )


# Starting an import and asking how far it got -------------------------------------------------------------


async def _start(client: Client, settings: Settings, request: ImportRequest) -> None:
    await client.start_workflow(
        CONTRACTOR_IMPORT_WORKFLOW,
        request,
        id=contractor_import_workflow_id(request.upload_id),
        task_queue=settings.task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        static_summary=f"Contractor import of {request.rows} rows",
    )


def start_import(
    session: Session,
    store: DocumentStore,
    tenant: Tenant,
    upload_id: str,
    actor: Actor,
    settings: Settings,
    workflows: WorkflowCalls,
    batch_rows: int = BATCH_ROWS,
) -> Document:
    """Start the upload's import (a workflow); starting it again finds the one already started."""
    document, rows = read_upload(session, store, tenant, upload_id)
    request = ImportRequest(
        upload_id=document.id,
        organization_id=tenant.organization_id,
        environment=tenant.environment,
        rows=len(rows),
        batches=batches(len(rows), batch_rows),
        batch_rows=batch_rows,
        actor=actor.label,
        actor_member_id=actor.member_id,
        actor_ip=actor.ip_address,
    )
    try:
        workflows.run(lambda client: _start(client, settings, request), START_TIMEOUT)
    except WorkflowAlreadyStartedError:
        return document  # this file's import is running or has run: the same one
    except (TimeoutError, RPCError):
        raise unavailable("The import service did not answer in time; try again") from None
    audit.record(
        session,
        tenant.organization_id,
        actor,
        STARTED,
        document.id,
        environment=tenant.environment,
        rows=len(rows),
    )
    session.commit()
    return document


def progress_of(
    session: Session, tenant: Tenant, document: Document, workflows: WorkflowCalls
) -> ImportProgress | None:
    """How far the import got (its workflow's query); once Temporal has forgotten a finished import, its
    summary in the audit log; None if it was never started (or cannot answer now)."""
    found = workflows.query(contractor_import_workflow_id(document.id), PROGRESS)
    if found is not None:
        return found
    entry = finished_entry(session, tenant, document)
    if entry is None:
        return None
    return ImportProgress(
        status=ImportStatus.FINISHED,
        created=entry.detail.get("created", 0),
        existing=entry.detail.get("existing", 0),
        refused_count=entry.detail.get("refused", 0),
    )


def was_started(session: Session, tenant: Tenant, document: Document) -> bool:
    return _has_entry(session, document, STARTED)
