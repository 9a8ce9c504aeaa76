from typing import Any

from fastapi import APIRouter

from api.deps import CurrentTenant, DbSession
from api.paging import PageParams
from services import billing, lookups
from services import representations as render
from services.billing import BillPayment

router = APIRouter(prefix="/bills", tags=["bills"])


@router.get("")
def list_bills(
    session: DbSession,
    tenant: CurrentTenant,
    page: PageParams,
    contractor: str | None = None,
    status: str | None = None,
) -> list[dict[str, Any]]:
    """Premium bills for your organization (remit), newest first; ``status``: open, overdue, paid, void."""
    return [render.bill(b) for b in lookups.list_bills(session, tenant, page, contractor, status)]


@router.get("/{bill_id}")
def retrieve_bill(bill_id: str, session: DbSession, tenant: CurrentTenant) -> dict[str, Any]:
    return render.bill(billing.get_bill(session, tenant, bill_id))


@router.post("/{bill_id}/pay")
def pay_bill(bill_id: str, body: BillPayment, session: DbSession, tenant: CurrentTenant) -> dict[str, Any]:
    """Record a payment your organization made against the bill (the amount in cents and your reference);
    once the payments cover it, the bill is ``paid``."""
    return render.bill(billing.pay_bill(session, tenant, bill_id, body))
