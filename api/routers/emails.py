from typing import Any

from fastapi import APIRouter

from api.deps import CurrentTenant, DbSession
from api.paging import PageParams
from db.models import EmailMessage
from services import representations as render
from services.lookups import filtered, get_owned, list_page, scoped

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
    filters = {EmailMessage.kind: kind, EmailMessage.recipient: recipient, EmailMessage.status: status}
    query = filtered(scoped(EmailMessage, tenant), filters)
    return [render.email(m) for m in list_page(session, query, EmailMessage, page)]


@router.get("/{email_id}")
def retrieve_email(email_id: str, session: DbSession, tenant: CurrentTenant) -> dict[str, Any]:
    return render.email(get_owned(session, EmailMessage, tenant, email_id, "resource_not_found", "email"))
