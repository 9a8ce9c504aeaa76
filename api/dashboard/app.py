"""Mounting the dashboard on the API's app: its routes under /dashboard, its static files, its headers, and
HTML answers (a page, not the API's JSON) for refusals on its paths."""

from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.dashboard.auth import NotAllowed, SignInNeeded, sign_in_url
from api.dashboard.pages import (
    access,
    api_keys,
    assignments,
    billing,
    contractors,
    events,
    jobs,
    org_settings,
    overview,
    team,
    webhooks,
)
from api.dashboard.rendering import page, redirect
from api.dashboard.security import PREFIX, DashboardHeaders, ForgedForm, require_csrf
from api.errors import STATUS_OF, describe_validation_errors
from common.settings import Settings
from domain.errors import DomainError

PAGES = [access, overview, team, webhooks, events, contractors, billing, org_settings, assignments]
PAGES += [api_keys, jobs]
FORGED = (
    "This form was sent from somewhere else or has expired: nothing was changed. "
    "Reload the page and try again."
)


def _ours(request: Request) -> bool:
    return (request.url.path + "/").startswith(PREFIX + "/")


def _message(request: Request, status: int, heading: str, text: str) -> Response:
    return page(request, "message.html", status, heading=heading, text=text)


def install_dashboard(app: FastAPI, settings: Settings) -> None:
    for module in PAGES:
        app.include_router(
            module.router, prefix=PREFIX, include_in_schema=False, dependencies=[Depends(require_csrf)]
        )
    app.mount(
        f"{PREFIX}/static", StaticFiles(directory=Path(__file__).parent / "static"), name="dashboard-static"
    )
    app.add_middleware(DashboardHeaders, settings=settings)

    @app.exception_handler(SignInNeeded)
    async def _sign_in(_request: Request, exc: SignInNeeded) -> Response:
        return redirect(sign_in_url(exc.next_path))

    @app.exception_handler(NotAllowed)
    async def _forbidden(request: Request, _exc: NotAllowed) -> Response:
        return _message(
            request, 403, "Not allowed", "Your role does not allow this. Ask an admin of your organization."
        )

    @app.exception_handler(ForgedForm)
    async def _forged(request: Request, _exc: ForgedForm) -> Response:
        return _message(request, 403, "Nothing was changed", FORGED)

    _html_on_our_paths(app)


def _html_on_our_paths(app: FastAPI) -> None:
    """The API's handlers answer JSON; on dashboard paths the same refusals are pages."""
    api_refused = app.exception_handlers[DomainError]
    api_validation = app.exception_handlers[RequestValidationError]
    api_http = app.exception_handlers[StarletteHTTPException]

    async def refused(request: Request, exc: Exception) -> Response:
        if not _ours(request):
            return await api_refused(request, exc)
        assert isinstance(exc, DomainError)
        status = STATUS_OF[exc.kind]
        heading = "Not found" if status == 404 else "That did not work"
        return _message(request, status, heading, exc.message)

    async def validation(request: Request, exc: Exception) -> Response:
        if not _ours(request):
            return await api_validation(request, exc)
        assert isinstance(exc, RequestValidationError)
        return _message(request, 400, "That did not work", describe_validation_errors(list(exc.errors())))

    async def http(request: Request, exc: Exception) -> Response:
        if not _ours(request):
            return await api_http(request, exc)
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 404:
            return _message(request, 404, "Not found", "There is no such page or object.")
        return _message(request, exc.status_code, "That did not work", str(exc.detail))

    app.add_exception_handler(DomainError, refused)
    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(StarletteHTTPException, http)
