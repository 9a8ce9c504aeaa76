"""The API's error format: ``{"message": str, "error_code": str}`` with an HTTP status.

Codes are the snake_case names the official client turns into its exception classes
(``invalid_contractor_id`` -> ``InvalidContractorIdError``). Operations refuse with a DomainError; its kind
picks the status.

Browser fronts (the dashboard, the hosted pages) register a page renderer for their path prefixes with
``serve_pages_on``: every refusal on those paths (a DomainError, a validation error, an HTTP error, an
ApiError, a body over the size limit) is then that front's HTML page with the same status, never JSON."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Scope

from common.validation import describe_validation_errors
from domain.errors import DomainError, Refusal

STATUS_OF = {
    Refusal.INVALID: 400,
    Refusal.DECLINED: 402,
    Refusal.NOT_FOUND: 404,
    Refusal.CONFLICT: 409,
    Refusal.FORBIDDEN: 403,
    Refusal.UNAVAILABLE: 503,
    Refusal.UPSTREAM: 502,
}


class ApiError(Exception):
    """An answer only HTTP gives (authentication, routing); business refusals are DomainErrors."""

    def __init__(
        self, status: int, error_code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.error_code, self.message = status, error_code, message
        self.headers = headers


def invalid_input(message: str) -> ApiError:
    return ApiError(400, "invalid_input", message)


def error_body(error_code: str, message: str) -> dict[str, str]:
    return {"message": message, "error_code": error_code}


# A browser front's page for a refusal: (request, status, heading, text) -> an HTML response.
PageRenderer = Callable[[Request, int, str, str], Response | Awaitable[Response]]


@dataclass(frozen=True)
class _Pages:
    prefixes: tuple[str, ...]
    render: PageRenderer


def serve_pages_on(app: FastAPI, prefixes: tuple[str, ...], render: PageRenderer) -> None:
    """Refusals on paths under ``prefixes`` (folders such as ``/dashboard``) answer ``render``'s page."""
    app.state.browser_pages = [*getattr(app.state, "browser_pages", []), _Pages(prefixes, render)]


def _renderer(scope: Scope) -> PageRenderer | None:
    app = scope.get("app")
    path = scope.get("path", "") + "/"
    for pages in getattr(getattr(app, "state", None), "browser_pages", []):
        if any(path.startswith(prefix.rstrip("/") + "/") for prefix in pages.prefixes):
            return pages.render
    return None


def heading_for(status: int) -> str:
    return {404: "Not found", 413: "Too large", 429: "Too many attempts"}.get(status, "That did not work")


async def refusal(
    request: Request, status: int, error_code: str, message: str, headers: dict[str, str] | None = None
) -> Response:
    """The API's error JSON, or on a browser front's paths that front's page with the same status."""
    render = _renderer(request.scope)
    if render is None:
        return JSONResponse(error_body(error_code, message), status_code=status, headers=headers)
    response = render(request, status, heading_for(status), message)
    if not isinstance(response, Response):
        response = await response
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> Response:
        return await refusal(request, exc.status, exc.error_code, exc.message, exc.headers)

    @app.exception_handler(DomainError)
    async def _refused(request: Request, exc: DomainError) -> Response:
        return await refusal(request, STATUS_OF[exc.kind], exc.code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        return await refusal(request, 400, "invalid_input", describe_validation_errors(list(exc.errors())))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        headers = getattr(exc, "headers", None)
        if exc.status_code == 404:
            return await refusal(request, 404, "resource_not_found", "Unknown resource or path", headers)
        if exc.status_code == 405:
            message = "This method is not allowed on this path"
            return await refusal(request, 405, "bad_request", message, headers)
        return await refusal(request, exc.status_code, "bad_request", str(exc.detail), headers)
