from typing import Any

from fastapi import APIRouter

from api.deps import CurrentTenant, DbSession
from api.paging import PageParams
from db.models import Bill
from services.lookups import filtered, get_owned, list_page, scoped

router = APIRouter(prefix="/bills", tags=["bills"])


def render_bill(b: Bill) -> dict[str, Any]:
    return {
        "id": b.id,
        "object": "bill",
        "created": b.created,
        "contractor": b.contractor_id,
        "job": b.job_id,
        "policy": b.policy_id,
        "assignment": b.assignment_id,
        "amount_due": b.amount_due,
        "bill_date": b.bill_date,
        "due_date": b.due_date,
        "purchase_order_number": b.purchase_order_number,
        "po_contact_name": b.po_contact_name,
        "po_contact_email": b.po_contact_email,
        "line_items": b.line_items,
        "status": b.status,
        "pdf_url": b.pdf_url,
    }


@router.get("")
def list_bills(
    session: DbSession,
    tenant: CurrentTenant,
    page: PageParams,
    contractor: str | None = None,
    status: str | None = None,
) -> list[dict[str, Any]]:
    """Premium bills for your organization (remit), newest first."""
    query = filtered(scoped(Bill, tenant), {Bill.contractor_id: contractor, Bill.status: status})
    return [render_bill(b) for b in list_page(session, query, Bill, page)]


@router.get("/{bill_id}")
def retrieve_bill(bill_id: str, session: DbSession, tenant: CurrentTenant) -> dict[str, Any]:
    return render_bill(get_owned(session, Bill, tenant, bill_id, "resource_not_found", "bill"))
