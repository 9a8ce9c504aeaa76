"""Mounting the dashboard on the API's app: its routes under /dashboard, its static files, its headers, and
HTML answers (a page, not the API's JSON) for refusals on its paths."""

from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from api.dashboard.auth import NotAllowed, SignInNeeded, sign_in_url
from api.dashboard.pages import (
    access,
    api_keys,
    assignments,
    billing,
    certificates,
    contractors,
    events,
    job_codes,
    jobs,
    org_settings,
    overview,
    pickers,
    premium_calculator,
    requirements,
    team,
    webhooks,
)
from api.dashboard.rendering import page, redirect
from api.dashboard.security import PREFIX, DashboardHeaders, ForgedForm, require_csrf
from api.deps import no_nul_in_parameters
from api.errors import serve_pages_on
from common.settings import Settings

PAGES = [access, overview, team, webhooks, events, contractors, billing, org_settings, assignments]
PAGES += [api_keys, jobs, certificates, requirements, pickers]
PAGES += [premium_calculator, job_codes]
FORGED = (
    "This form was sent from somewhere else or has expired: nothing was changed. "
    "Reload the page and try again."
)


def _message(request: Request, status: int, heading: str, text: str) -> Response:
    return page(request, "message.html", status, heading=heading, text=text)


def install_dashboard(app: FastAPI, settings: Settings) -> None:
    for module in PAGES:
        app.include_router(
            module.router,
            prefix=PREFIX,
            include_in_schema=False,
            dependencies=[Depends(no_nul_in_parameters), Depends(require_csrf)],
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

    serve_pages_on(app, (PREFIX,), _message)  # every refusal on our paths is a page, not the API's JSON
