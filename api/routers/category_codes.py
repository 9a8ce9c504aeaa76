from typing import Any

from fastapi import APIRouter

from api.deps import CurrentTenant, DbSession
from services import catalog
from services import representations as render

router = APIRouter(prefix="/category_codes", tags=["job categories"])


@router.get("")
def list_category_codes(session: DbSession, tenant: CurrentTenant) -> list[dict[str, Any]]:
    """Every job category approved for the caller's organization (the whole list; it is short)."""
    return [render.job_category(c, approved=True) for c in catalog.approved_categories(session, tenant)]


@router.get("/{category_id}")
def retrieve_category_code(category_id: str, session: DbSession, tenant: CurrentTenant) -> dict[str, Any]:
    category = catalog.category(session, category_id)
    return render.job_category(category, approved=catalog.is_approved(session, tenant, category.id))
