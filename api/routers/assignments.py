from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import AppSettings, CurrentTenant, DbSession, Workflows
from api.paging import PageParams, deleted_body
from services import assignments, lookups
from services import representations as render
from services.assignments import AssignmentIn, AssignmentUpdate, CancelIn, ExtendIn
from services.lookups import get_assignment

router = APIRouter(prefix="/assignments", tags=["assignments"])
CANCEL_ACCEPTED: dict[int | str, dict[str, Any]] = {
    202: {"description": "Cancelled; what was collected is still being refunded"}
}
UPDATE_ACCEPTED: dict[int | str, dict[str, Any]] = {
    202: {"description": "Taken; the new terms are bound once a charge under way has finished"}
}


@router.post("", status_code=201)
def create_assignment(
    body: AssignmentIn, settings: AppSettings, session: DbSession, tenant: CurrentTenant
) -> dict[str, Any]:
    """Coverage for a contractor's next job: reuse, general opt-in or a new application (see ``eligible``)."""
    return render.assignment(assignments.create_assignment(session, tenant, body, settings))


@router.get("")
def list_assignments(
    session: DbSession,
    tenant: CurrentTenant,
    page: PageParams,
    contractor: str | None = None,
    job: str | None = None,
) -> list[dict[str, Any]]:
    return [render.assignment(a) for a in lookups.list_assignments(session, tenant, page, contractor, job)]


@router.get("/{assignment_id}")
def retrieve_assignment(
    assignment_id: str, workflows: Workflows, session: DbSession, tenant: CurrentTenant
) -> dict[str, Any]:
    return assignments.assignment_snapshot(get_assignment(session, tenant, assignment_id), workflows)


@router.put("/{assignment_id}", responses=UPDATE_ACCEPTED, response_model=None)
def update_assignment(
    assignment_id: str,
    body: AssignmentUpdate,
    session: DbSession,
    tenant: CurrentTenant,
    settings: AppSettings,
    workflows: Workflows,
) -> dict[str, Any] | JSONResponse:
    """1099Policy's update (contractor, job, coverage_type, bind, policy, dates) until the premium is
    collected; see services.assignments.update_assignment for what each change does. 202: the new terms are
    taken, and bound once a charge under way (a processor slow to answer) has finished; if that charge
    collected the premium, they are not (the assignment then shows its premium collected)."""
    done = assignments.update_assignment(session, tenant, assignment_id, body, settings, workflows)
    return _answered(done)


@router.post("/cancel", responses=CANCEL_ACCEPTED, response_model=None)
def cancel_assignment(
    body: CancelIn, workflows: Workflows, session: DbSession, tenant: CurrentTenant
) -> dict[str, Any] | JSONResponse:
    """Only before the assignment starts; refunds the card (or credits the organization). Irreversible.
    202: cancelled, and what was collected is still being refunded (the processor is slow to answer)."""
    return _answered(assignments.cancel_assignment(session, tenant, body, workflows))


@router.post("/extend")
def extend_assignment(
    body: ExtendIn, workflows: Workflows, session: DbSession, tenant: CurrentTenant, settings: AppSettings
) -> dict[str, Any]:
    return render.assignment(assignments.extend_assignment(session, tenant, body, workflows, settings))


@router.delete("/{assignment_id}")
def delete_assignment(
    assignment_id: str, workflows: Workflows, session: DbSession, tenant: CurrentTenant
) -> dict[str, Any]:
    return deleted_body(
        assignments.delete_assignment(session, tenant, assignment_id, workflows), "assignment"
    )


def _answered(done: assignments.Kept) -> dict[str, Any] | JSONResponse:
    """The assignment; 202 when its workflow is still finishing the change."""
    shown = render.assignment(done.assignment)
    return JSONResponse(shown, status_code=202) if done.pending else shown
