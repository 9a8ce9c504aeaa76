"""Turning a model's validation errors into the one message every front gives: ``field.path: what is
wrong``, joined by "; ". The API answers it for a bad request body; the dashboard for a form or a CSV row."""

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from domain.errors import invalid

M = TypeVar("M", bound=BaseModel)


def describe_validation_errors(errors: list[Any]) -> str:
    parts = []
    for error in errors:
        location = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path")]
        message = error.get("msg", "invalid value")
        if error.get("type") == "extra_forbidden":
            message = "unknown field"
        elif error.get("type") == "json_invalid":
            location, message = [], "the request body is not valid JSON"
        parts.append(f"{'.'.join(location)}: {message}" if location else message)
    return "; ".join(parts) or "invalid request"


def validated(model: type[M], data: Any) -> M:
    """``data`` as ``model``; what does not fit is a DomainError with the message the API gives."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise invalid(describe_validation_errors(list(error.errors()))) from None
