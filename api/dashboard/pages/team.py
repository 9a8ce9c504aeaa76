"""The team (invite, change role, remove) and the audit log: admins only."""

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse

from api.dashboard.auth import Admin
from api.dashboard.paging import NumberCursor, page_after
from api.dashboard.rendering import form_model, page, redirect, refused
from api.deps import AppSettings, DbSession
from domain.errors import DomainError
from domain.roles import Role
from services import audit, members

AUDIT_PER_PAGE = 50

router = APIRouter()


def _team(
    request: Request, session: DbSession, viewer: Admin, status: int = 200, **context: object
) -> Response:
    return page(
        request,
        "team.html",
        status,
        members=members.members(session, viewer.tenant.organization_id),
        roles=list(Role),
        **context,
    )


@router.get("/team", response_class=HTMLResponse)
def team(request: Request, session: DbSession, viewer: Admin) -> Response:
    return _team(request, session, viewer)


@router.post("/team/invite")
def invite(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    viewer: Admin,
    email: Annotated[str, Form(max_length=320)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    role: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    try:
        body = form_model(members.NewMember, email=email, name=name, role=role)
        members.invite(session, viewer.tenant.organization_id, body, viewer.actor, settings.public_base_url)
    except DomainError as error:
        form = {"email": email, "name": name}
        return refused(session, error, partial(_team, request, session, viewer), status=400, form=form)
    return redirect("/dashboard/team", "invited")


@router.post("/team/{member_id}/role")
def change_role(
    request: Request,
    session: DbSession,
    viewer: Admin,
    member_id: str,
    role: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    try:
        if role not in set(Role):
            raise DomainError("invalid_input", f"role: one of {', '.join(Role)}", "role")
        members.change_role(session, viewer.tenant.organization_id, member_id, Role(role), viewer.actor)
    except DomainError as error:
        return refused(session, error, partial(_team, request, session, viewer))
    return redirect("/dashboard/team", "role_changed")


@router.post("/team/{member_id}/remove")
def remove(request: Request, session: DbSession, viewer: Admin, member_id: str) -> Response:
    try:
        members.remove_member(session, viewer.tenant.organization_id, member_id, viewer.actor)
    except DomainError as error:
        return refused(session, error, partial(_team, request, session, viewer))
    return redirect("/dashboard/team", "member_removed")


@router.get("/audit", response_class=HTMLResponse)
def audit_log(request: Request, session: DbSession, viewer: Admin, before: NumberCursor = None) -> Response:
    entries, older = page_after(
        lambda limit: audit.entries(session, viewer.tenant.organization_id, limit=limit, before_id=before),
        AUDIT_PER_PAGE,
    )
    return page(request, "audit.html", entries=entries, older=older)
