"""Inputs, outputs and progress of a contractor CSV import (workflows/contractor_import.py)."""

from pydantic import BaseModel

from contracts.calls import QueryName
from domain.statuses import ImportStatus

CONTRACTOR_IMPORT_WORKFLOW = "ContractorImportWorkflow"
REFUSALS_KEPT = 1000  # the progress lists this many refused rows; past it, only their count


def contractor_import_workflow_id(upload_id: str) -> str:
    """One import per uploaded file: starting it again finds the same workflow."""
    return f"contractor-import-{upload_id}"


class ImportRequest(BaseModel):
    upload_id: str
    organization_id: str
    environment: str
    rows: int
    batches: int
    batch_rows: int
    actor: str  # who started it, for the audit log: the member's email, id and address
    actor_member_id: str | None = None
    actor_ip: str = ""


class ImportBatch(BaseModel):
    request: ImportRequest
    batch: int


class RowProblem(BaseModel):
    row: int
    email: str
    reason: str


class BatchResult(BaseModel):
    rows: int = 0  # how many rows the batch had
    created: int = 0
    existing: int = 0
    refused: list[RowProblem] = []


class ImportProgress(BaseModel):
    status: ImportStatus = ImportStatus.RUNNING
    rows: int = 0
    processed: int = 0
    created: int = 0
    existing: int = 0
    refused_count: int = 0
    refused: list[RowProblem] = []
    failure: str | None = None


class FinishedImport(BaseModel):
    request: ImportRequest
    created: int
    existing: int
    refused: int


PROGRESS = QueryName[ImportProgress]("progress", ImportProgress)
