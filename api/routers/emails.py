from typing import Any

from fastapi import APIRouter

from api.deps import CurrentTenant, DbSession
from api.paging import PageParams
from services import lookups
from services import representations as render

router = APIRouter(prefix="/emails", tags=["emails"])


@router.get("")
def list_emails(
    session: DbSession,
    tenant: CurrentTenant,
    page: PageParams,
    kind: str | None = None,
    recipient: str | None = None,
    status: str | None = None,
) -> list[dict[str, Any]]:
    """Every notification email sent for your organization: to whom, which kind, when, and whether it went."""
    return [render.email(m) for m in lookups.list_emails(session, tenant, page, kind, recipient, status)]


@router.get("/{email_id}")
def retrieve_email(email_id: str, session: DbSession, tenant: CurrentTenant) -> dict[str, Any]:
    return render.email(lookups.get_email(session, tenant, email_id))
