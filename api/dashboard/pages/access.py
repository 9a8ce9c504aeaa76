"""Signing in and out, invitations, password resets and the sandbox/production switch."""

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse

from api.client_address import client_address
from api.dashboard.auth import CurrentViewer, session_token
from api.dashboard.rendering import form_model, page, redirect, refused
from api.dashboard.security import SESSION_COOKIE, secrets_of
from api.deps import AppSettings, DbSession
from domain.errors import DomainError
from services import members

router = APIRouter()
SESSION_MAX_AGE = members.IDLE_SECONDS


def _safe_next(next_path: str | None) -> str:
    """Only a path of ours: never another site (an open redirect would turn sign-in into phishing)."""
    if next_path and next_path.startswith("/dashboard") and not next_path.startswith("//"):
        return next_path
    return "/dashboard"


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_page(request: Request, next: str = "/dashboard") -> Response:
    return page(request, "sign_in.html", next=_safe_next(next))


@router.post("/sign-in")
def sign_in(
    request: Request,
    session: DbSession,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/dashboard",
) -> Response:
    address = client_address(request.scope)
    try:
        member = members.authenticate(session, email, password, address)
    except DomainError as error:
        status = 429 if error.code == "too_many_attempts" else 400
        return page(request, "sign_in.html", status, error=error.message, email=email, next=_safe_next(next))
    token = members.start_session(session, member, "sandbox", address)
    response = redirect(_safe_next(next))
    response.headers.append(
        "set-cookie", secrets_of(request).cookie(SESSION_COOKIE, secrets_of(request).seal(token))
    )
    return response


@router.post("/sign-out")
def sign_out(request: Request, session: DbSession) -> Response:
    token = session_token(request)
    if token:
        members.end_session(session, token)
    response = redirect("/dashboard/sign-in", "signed_out")
    response.headers.append("set-cookie", secrets_of(request).cookie(SESSION_COOKIE, "", max_age=0))
    return response


@router.post("/environment")
def switch_environment(
    session: DbSession,
    viewer: CurrentViewer,
    environment: Annotated[str, Form()],
    next: Annotated[str, Form(max_length=2000)] = "/dashboard",
) -> Response:
    members.switch_environment(session, viewer.signed_in, environment)
    return redirect(_safe_next(next))


def _link_page(
    request: Request,
    session: DbSession,
    token: str,
    purpose: str,
    error: str | None = None,
    status: int = 400,
) -> Response:
    """The form that sets a password from an emailed link, or why the link does not work."""
    try:
        member = members.token_member(session, token, purpose)
    except DomainError as why:
        return page(request, "message.html", 400, heading="This link does not work", text=why.message)
    return page(
        request,
        "set_password.html",
        status if error else 200,
        error=error,
        purpose=purpose,
        email=member.email,
        organization_name=members.link_organization_name(session, member),
        action=request.url.path,
    )


def _set_from_link(request: Request, session: DbSession, token: str, purpose: str, password: str) -> Response:
    try:
        members.set_password_from_link(
            session, token, purpose, form_model(members.Password, password=password)
        )
    except DomainError as error:
        return refused(session, error, partial(_link_page, request, session, token, purpose), status=400)
    return redirect("/dashboard/sign-in", "password_set")


@router.get("/invitation/{token}", response_class=HTMLResponse)
def invitation_page(request: Request, session: DbSession, token: str) -> Response:
    return _link_page(request, session, token, members.INVITATION)


@router.post("/invitation/{token}")
def accept_invitation(
    request: Request, session: DbSession, token: str, password: Annotated[str, Form(max_length=1024)] = ""
) -> Response:
    return _set_from_link(request, session, token, members.INVITATION, password)


@router.get("/forgot-password", response_class=HTMLResponse)
def forgot_page(request: Request) -> Response:
    return page(request, "forgot_password.html")


@router.post("/forgot-password")
def forgot(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    email: Annotated[str, Form(max_length=320)] = "",
) -> Response:
    members.request_password_reset(session, email, settings.public_base_url, client_address(request.scope))
    return redirect("/dashboard/sign-in", "reset_sent")


@router.get("/reset/{token}", response_class=HTMLResponse)
def reset_page(request: Request, session: DbSession, token: str) -> Response:
    return _link_page(request, session, token, members.RESET)


@router.post("/reset/{token}")
def reset(
    request: Request, session: DbSession, token: str, password: Annotated[str, Form(max_length=1024)] = ""
) -> Response:
    return _set_from_link(request, session, token, members.RESET, password)
