"""Invoices: the pay a contractor actually earned on an assignment (see services.invoices)."""

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import CurrentTenant, DbSession, Workflows
from api.paging import PageParams, deleted_body
from services import invoices, lookups
from services import representations as render
from services.invoices import InvoiceIn, InvoiceUpdate, Saved
from services.lookups import get_invoice

router = APIRouter(prefix="/invoices", tags=["invoices"])
ACCEPTED: dict[int | str, dict[str, Any]] = {
    202: {"description": "Kept; the new premium is still being applied (the money moves shortly)"}
}


def _answer(body: dict[str, Any], saved: Saved) -> dict[str, Any] | JSONResponse:
    """The body, or the same body with 202 when the change is kept but its money has not finished moving."""
    return JSONResponse(body, status_code=202) if saved.pending else body


@router.post("", status_code=201, responses=ACCEPTED, response_model=None)
def create_invoice(
    body: InvoiceIn, workflows: Workflows, session: DbSession, tenant: CurrentTenant
) -> dict[str, Any] | JSONResponse:
    saved = invoices.save_invoice(session, tenant, body, workflows)
    return _answer(render.invoice(saved.invoice), saved)


@router.get("")
def list_invoices(
    session: DbSession,
    tenant: CurrentTenant,
    page: PageParams,
    contractor: str | None = None,
    job: str | None = None,
) -> list[dict[str, Any]]:
    return [render.invoice(i) for i in lookups.list_invoices(session, tenant, page, contractor, job)]


@router.get("/{invoice_id}")
def retrieve_invoice(invoice_id: str, session: DbSession, tenant: CurrentTenant) -> dict[str, Any]:
    return render.invoice(get_invoice(session, tenant, invoice_id))


@router.put("/{invoice_id}", responses=ACCEPTED, response_model=None)
def update_invoice(
    invoice_id: str, body: InvoiceUpdate, workflows: Workflows, session: DbSession, tenant: CurrentTenant
) -> dict[str, Any] | JSONResponse:
    """Change the pay of an unpaid invoice (the contractor is told of the new premium)."""
    saved = invoices.change_invoice(session, tenant, invoice_id, body, workflows)
    return _answer(render.invoice(saved.invoice), saved)


@router.delete("/{invoice_id}", responses=ACCEPTED, response_model=None)
def delete_invoice(
    invoice_id: str, workflows: Workflows, session: DbSession, tenant: CurrentTenant
) -> dict[str, Any] | JSONResponse:
    """Only while unpaid. The premium goes back to the job's estimate."""
    saved = invoices.remove_invoice(session, tenant, invoice_id, workflows)
    return _answer(deleted_body(saved.invoice, "invoice"), saved)
