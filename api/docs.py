"""The API's interactive docs (Swagger UI at /docs, ReDoc at /redoc), served with assets installed with the
project (the fastapi-offline package ships Swagger UI's and ReDoc's files), never from a CDN: `make run` is
meant to work offline, and FastAPI's default pages load their JavaScript and CSS from cdn.jsdelivr.net and
their favicon from fastapi.tiangolo.com.

The app must be created with ``docs_url=None, redoc_url=None`` so that FastAPI adds none of its own. The
schema also declares how the API authenticates (a bearer key on every operation that needs one), so Swagger
UI's "Authorize" takes the sandbox key `make run` prints and "Try it out" sends it.
"""

from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.staticfiles import StaticFiles

from api.deps import get_tenant

ASSETS = Path(fastapi_offline.__file__).parent / "static"
ASSETS_URL = "/docs-assets"
DOCS_URL, REDOC_URL = "/docs", "/redoc"
KEY_SCHEME = "apiKey"
SECURITY_SCHEMES = {
    KEY_SCHEME: {
        "type": "http",
        "scheme": "bearer",
        "description": "Your API key: `t9k_test_…` (sandbox) or `t9k_live_…` (production), sent as "
        "`Authorization: Bearer <key>` (HTTP Basic with the key as the user name works too).",
    }
}


def _needs_key(dependant: Dependant) -> bool:
    return dependant.call is get_tenant or any(_needs_key(sub) for sub in dependant.dependencies)


def _declare_security(app: FastAPI) -> None:
    """Wraps ``app.openapi`` so that the schema says which operations take the API key: those whose
    endpoint depends on the caller's tenant."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        schema = build()  # cached by FastAPI until the routes change; marking it again changes nothing
        schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
        for route in iter_route_contexts(app.routes):
            endpoint = route.original_route
            if (
                isinstance(endpoint, APIRoute)
                and endpoint.include_in_schema
                and _needs_key(endpoint.dependant)
            ):
                for method in route.methods or ():
                    operation = schema["paths"].get(route.path_format, {}).get(method.lower())
                    if operation is not None:
                        operation["security"] = [{KEY_SCHEME: []}]
        return schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to extend its schema


def install_docs(app: FastAPI) -> None:
    """Swagger UI, ReDoc and Swagger UI's OAuth2 redirect page, with their assets served by ``app``."""
    assert app.docs_url is None and app.redoc_url is None, "create the app with docs_url=None, redoc_url=None"
    _declare_security(app)
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS), name="docs-assets")
    oauth2_redirect = app.swagger_ui_oauth2_redirect_url or "/docs/oauth2-redirect"
    # No validator badge: Swagger UI would send the whole spec to validator.swagger.io for it.
    parameters = {"validatorUrl": None, "persistAuthorization": True, **(app.swagger_ui_parameters or {})}

    def root(request: Request) -> str:
        return str(request.scope.get("root_path", "")).rstrip("/")

    @app.get(DOCS_URL, include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        base = root(request)
        return get_swagger_ui_html(
            openapi_url=f"{base}{app.openapi_url}",
            title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=f"{base}{oauth2_redirect}",
            swagger_js_url=f"{base}{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{base}{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{base}{ASSETS_URL}/favicon.png",
            swagger_ui_parameters=parameters,
        )

    @app.get(oauth2_redirect, include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get(REDOC_URL, include_in_schema=False)
    def redoc(request: Request) -> HTMLResponse:
        base = root(request)
        return get_redoc_html(
            openapi_url=f"{base}{app.openapi_url}",
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{base}{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{base}{ASSETS_URL}/favicon.png",
            with_google_fonts=False,
        )
