"""``/insurance_requirements``: what an organization requires of the certificates its contractors bring
(README, "Insurance requirements"). Rules are checked by services.insurance_requirements; the JSON shape is
services.representations.insurance_requirement."""

from typing import Any

from fastapi import APIRouter

from api.deps import CurrentTenant, DbSession
from api.paging import PageParams, deleted_body
from services import insurance_requirements as requirements
from services import representations as render
from services.insurance_requirements import RequirementIn, RequirementUpdate

router = APIRouter(prefix="/insurance_requirements", tags=["insurance_requirements"])


def _shown(requirement: requirements.Requirement) -> dict[str, Any]:
    return render.insurance_requirement(requirement, requirements.rules_of(requirement))


@router.post("", status_code=201)
def create_insurance_requirement(
    body: RequirementIn, session: DbSession, tenant: CurrentTenant
) -> dict[str, Any]:
    """Create a requirement; the first one, or one with ``is_default: true``, becomes the default."""
    return _shown(requirements.create_requirement(session, tenant, body))


@router.get("")
def list_insurance_requirements(
    session: DbSession, tenant: CurrentTenant, page: PageParams
) -> list[dict[str, Any]]:
    return [_shown(r) for r in requirements.list_requirements(session, tenant, page)]


@router.get("/{requirement_id}")
def retrieve_insurance_requirement(
    requirement_id: str, session: DbSession, tenant: CurrentTenant
) -> dict[str, Any]:
    return _shown(requirements.get_requirement(session, tenant, requirement_id))


@router.put("/{requirement_id}")
def update_insurance_requirement(
    requirement_id: str, body: RequirementUpdate, session: DbSession, tenant: CurrentTenant
) -> dict[str, Any]:
    """Change the fields given; ``coverages`` and ``expiry`` replace the old ones whole."""
    return _shown(requirements.update_requirement(session, tenant, requirement_id, body))


@router.delete("/{requirement_id}")
def delete_insurance_requirement(
    requirement_id: str, session: DbSession, tenant: CurrentTenant
) -> dict[str, Any]:
    """Delete a requirement (the default only when it is the last one)."""
    return deleted_body(
        requirements.delete_requirement(session, tenant, requirement_id), "insurance_requirement"
    )
