from typing import Any

from fastapi import APIRouter

from api.deps import CurrentTenant, DbSession
from api.paging import PageParams
from services import lookups, quotes
from services import representations as render
from services.lookups import get_quote
from services.quotes import QuoteIn, QuoteUpdate

router = APIRouter(prefix="/quotes", tags=["quotes"])


@router.post("", status_code=201)
def create_quote(body: QuoteIn, session: DbSession, tenant: CurrentTenant) -> dict[str, Any]:
    return render.quote(quotes.create_quote(session, tenant, body))


@router.get("")
def list_quotes(
    session: DbSession,
    tenant: CurrentTenant,
    page: PageParams,
    contractor: str | None = None,
    job: str | None = None,
) -> list[dict[str, Any]]:
    return [render.quote(q) for q in lookups.list_quotes(session, tenant, page, contractor, job)]


@router.get("/{quote_id}")
def retrieve_quote(quote_id: str, session: DbSession, tenant: CurrentTenant) -> dict[str, Any]:
    return render.quote(get_quote(session, tenant, quote_id))


@router.put("/{quote_id}")
def update_quote(
    quote_id: str, body: QuoteUpdate, session: DbSession, tenant: CurrentTenant
) -> dict[str, Any]:
    """Re-rates the quote. A quote that a policy was bound from is final: create a new quote instead."""
    return render.quote(quotes.update_quote(session, tenant, quote_id, body))
