from typing import TYPE_CHECKING, Any

from fastapi import APIRouter

from api.deps import AppSettings, CurrentTenant, DbSession, Workflows
from api.paging import PageParams
from contracts.application import APPLICATION_STATE, application_workflow_id
from domain.application import ENDED
from services import applications, lookups
from services import representations as render
from services.applications import SessionIn, SessionUpdate
from services.lookups import get_application
from services.workflow_calls import WorkflowCalls

if TYPE_CHECKING:
    from db.models import ApplicationSession

router = APIRouter(prefix="/apply/sessions", tags=["insurance application sessions"])


def _render(
    row: "ApplicationSession", settings: AppSettings, workflows: WorkflowCalls | None = None
) -> dict[str, Any]:
    """With ``workflows``, the live step of a running application comes from its workflow (a query)."""
    state = None
    if workflows is not None and row.status not in ENDED:
        state = workflows.query(application_workflow_id(row.id), APPLICATION_STATE)
    return render.application_session(
        row, settings.public_base_url, state.step if state else None, state.status if state else None
    )


@router.post("", status_code=201)
def create_session(
    body: SessionIn, settings: AppSettings, session: DbSession, tenant: CurrentTenant
) -> dict[str, Any]:
    return _render(applications.open_application(session, tenant, body, settings), settings)


@router.get("")
def list_sessions(
    settings: AppSettings,
    session: DbSession,
    tenant: CurrentTenant,
    page: PageParams,
    contractor: str | None = None,
    is_general_opt_in: bool | None = None,
) -> list[dict[str, Any]]:
    rows = lookups.list_applications(session, tenant, page, contractor, is_general_opt_in)
    return [_render(row, settings) for row in rows]


@router.get("/{session_id}")
def retrieve_session(
    session_id: str, settings: AppSettings, workflows: Workflows, session: DbSession, tenant: CurrentTenant
) -> dict[str, Any]:
    """The live ``step`` comes from the running workflow (a query), the rest from the database."""
    return _render(get_application(session, tenant, session_id), settings, workflows)


@router.put("/{session_id}")
def update_session(
    session_id: str,
    body: SessionUpdate,
    settings: AppSettings,
    workflows: Workflows,
    session: DbSession,
    tenant: CurrentTenant,
) -> dict[str, Any]:
    """Only the redirect URLs can change."""
    return _render(applications.update_redirects(session, tenant, session_id, body), settings, workflows)


@router.post("/{session_id}/expire")
def expire_session(
    session_id: str, settings: AppSettings, workflows: Workflows, session: DbSession, tenant: CurrentTenant
) -> dict[str, Any]:
    return _render(applications.expire_application(session, tenant, session_id, workflows), settings)
