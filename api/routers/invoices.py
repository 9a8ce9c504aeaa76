"""Invoices: the pay a contractor actually earned on an assignment (see services.invoices)."""

from typing import Any

from fastapi import APIRouter

from api.deps import CurrentTenant, DbSession, Workflows
from api.paging import PageParams, deleted_body
from common import representations as render
from db.models import Invoice
from services import invoices
from services.invoices import InvoiceIn, InvoiceUpdate
from services.lookups import filtered, get_invoice, list_page, scoped

router = APIRouter(prefix="/invoices", tags=["invoices"])


@router.post("", status_code=201)
def create_invoice(
    body: InvoiceIn, workflows: Workflows, session: DbSession, tenant: CurrentTenant
) -> dict[str, Any]:
    return render.invoice(invoices.create_invoice(session, tenant, body, workflows))


@router.get("")
def list_invoices(
    session: DbSession,
    tenant: CurrentTenant,
    page: PageParams,
    contractor: str | None = None,
    job: str | None = None,
) -> list[dict[str, Any]]:
    query = filtered(scoped(Invoice, tenant), {Invoice.contractor_id: contractor, Invoice.job_id: job})
    return [render.invoice(i) for i in list_page(session, query, Invoice, page)]


@router.get("/{invoice_id}")
def retrieve_invoice(invoice_id: str, session: DbSession, tenant: CurrentTenant) -> dict[str, Any]:
    return render.invoice(get_invoice(session, tenant, invoice_id))


@router.put("/{invoice_id}")
def update_invoice(
    invoice_id: str, body: InvoiceUpdate, workflows: Workflows, session: DbSession, tenant: CurrentTenant
) -> dict[str, Any]:
    """Change the pay of an unpaid invoice (the contractor is told of the new premium)."""
    return render.invoice(invoices.update_invoice(session, tenant, invoice_id, body, workflows))


@router.delete("/{invoice_id}")
def delete_invoice(
    invoice_id: str, workflows: Workflows, session: DbSession, tenant: CurrentTenant
) -> dict[str, Any]:
    """Only while unpaid. The premium goes back to the job's estimate."""
    return deleted_body(invoices.delete_invoice(session, tenant, invoice_id, workflows), "invoice")
