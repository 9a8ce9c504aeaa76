"""The API's error format: ``{"message": str, "error_code": str}`` with an HTTP status.

Codes are the snake_case names the official client turns into its exception classes
(``invalid_contractor_id`` -> ``InvalidContractorIdError``). Operations refuse with a DomainError; its kind
picks the status."""

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from common.validation import describe_validation_errors
from domain.errors import DomainError, Refusal

STATUS_OF = {
    Refusal.INVALID: 400,
    Refusal.DECLINED: 402,
    Refusal.NOT_FOUND: 404,
    Refusal.CONFLICT: 409,
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


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(
            error_body(exc.error_code, exc.message), status_code=exc.status, headers=exc.headers
        )

    @app.exception_handler(DomainError)
    async def _refused(_request: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse(error_body(exc.code, exc.message), status_code=STATUS_OF[exc.kind])

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(
            error_body("invalid_input", describe_validation_errors(list(exc.errors()))), status_code=400
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            body = error_body("resource_not_found", "Unknown resource or path")
        elif exc.status_code == 405:
            body = error_body("bad_request", "This method is not allowed on this path")
        else:
            body = error_body("bad_request", str(exc.detail))
        return JSONResponse(body, status_code=exc.status_code, headers=getattr(exc, "headers", None))
