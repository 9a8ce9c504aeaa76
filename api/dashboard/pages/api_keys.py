"""API keys (admins only): the keys of the environment on view, with their name, hint, status and when
they were last used; create one (shown once), rename, roll (the new one shown once, the old one working a
while longer) and revoke. Every change goes through services.api_keys, as the API's /api_keys does, and is
audited there."""

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse

from api.dashboard.auth import Admin, Viewer
from api.dashboard.rendering import form_model, page, redirect, refused
from api.deps import DbSession
from common.schemas import Strict
from domain.errors import DomainError
from services import api_keys

router = APIRouter()
BASE = "/dashboard/api-keys"
ROLL_CHOICES = (0, 1, 24, 72, 168)  # hours the old key keeps working after a roll


class _Roll(Strict):
    expires_in_hours: int = api_keys.DEFAULT_ROLL_HOURS


def _page(
    request: Request, session: DbSession, viewer: Viewer, status: int = 200, **context: Any
) -> Response:
    keys = api_keys.list_keys(session, viewer.tenant.organization_id, viewer.environment)
    return page(
        request,
        "api_keys.html",
        status,
        keys=keys,
        status_of=api_keys.status_of,
        roll_choices=ROLL_CHOICES,
        default_roll=api_keys.DEFAULT_ROLL_HOURS,
        **context,
    )


def _refused(
    request: Request, session: DbSession, viewer: Viewer, error: DomainError, **context: Any
) -> Response:
    # another organization's or environment's key: the not-found page, as the API answers
    return refused(session, error, partial(_page, request, session, viewer), not_found_page=True, **context)


@router.get("/api-keys", response_class=HTMLResponse)
def keys_page(request: Request, session: DbSession, viewer: Admin) -> Response:
    return _page(request, session, viewer)


@router.post("/api-keys")
def create(
    request: Request, session: DbSession, viewer: Admin, name: Annotated[str, Form(max_length=400)] = ""
) -> Response:
    try:
        issued = api_keys.create_key(
            session, viewer.tenant.organization_id, viewer.actor, viewer.environment, name
        )
    except DomainError as error:
        return _refused(request, session, viewer, error, form={"name": name})
    return _page(
        request, session, viewer, 201, revealed=issued.key, revealed_row=issued.row, revealed_on="created"
    )


@router.post("/api-keys/{key_id}/name")
def rename(
    request: Request,
    session: DbSession,
    viewer: Admin,
    key_id: str,
    name: Annotated[str, Form(max_length=400)] = "",
) -> Response:
    try:
        api_keys.rename_key(
            session, viewer.tenant.organization_id, viewer.actor, key_id, name, viewer.environment
        )
    except DomainError as error:
        return _refused(request, session, viewer, error)
    return redirect(BASE, "saved")


@router.post("/api-keys/{key_id}/roll")
def roll(
    request: Request,
    session: DbSession,
    viewer: Admin,
    key_id: str,
    expires_in_hours: Annotated[str, Form(max_length=6)] = "",
) -> Response:
    try:
        hours = form_model(_Roll, expires_in_hours=expires_in_hours or api_keys.DEFAULT_ROLL_HOURS)
        issued = api_keys.roll_key(
            session,
            viewer.tenant.organization_id,
            viewer.actor,
            key_id,
            hours.expires_in_hours,
            viewer.environment,
        )
    except DomainError as error:
        return _refused(request, session, viewer, error)
    return _page(request, session, viewer, revealed=issued.key, revealed_row=issued.row, revealed_on="rolled")


@router.post("/api-keys/{key_id}/revoke")
def revoke(request: Request, session: DbSession, viewer: Admin, key_id: str) -> Response:
    try:
        api_keys.revoke_key(session, viewer.tenant.organization_id, viewer.actor, key_id, viewer.environment)
    except DomainError as error:
        return _refused(request, session, viewer, error)
    return redirect(BASE, "revoked")
