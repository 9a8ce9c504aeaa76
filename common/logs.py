"""Logging for the API and the worker. Third-party loggers that would write request bodies (the Stripe SDK
logs them at DEBUG, with customer emails and, for card creation, card numbers) stay at WARNING.

Two formats: readable text (the default) and JSON, one object a line, carrying the request id, the trace
id, the organization, the environment and the workflow id of whatever the line is about. In both, anything
shaped like one of our secrets (API keys, webhook secrets, Stripe keys) is masked before it is written."""

import json
import logging
import re
from contextvars import ContextVar
from typing import Any

QUIET = ("stripe", "httpx", "httpcore")
# The ids a line is about: one dict per API request (its request id, then the organization and environment
# once the key is checked). A dict, not values, because dependencies run in copies of the request's context.
LOG_CONTEXT: ContextVar[dict[str, str] | None] = ContextVar("log_context", default=None)
SECRET = re.compile(r"\b(t9k_(?:test|live)_|whsec_|sk_(?:test|live)_|rk_(?:test|live)_)[A-Za-z0-9]+")


def mask_secrets(text: str) -> str:
    return SECRET.sub(lambda match: f"{match.group(1)}…", text)


def new_log_context(**ids: str) -> None:
    LOG_CONTEXT.set(dict(ids))


def add_log_context(**ids: str) -> None:
    context = LOG_CONTEXT.get()
    if context is None:
        LOG_CONTEXT.set(dict(ids))
    else:
        context.update(ids)


def _temporal_ids() -> dict[str, str]:
    from temporalio import activity

    if activity.in_activity():
        info = activity.info()
        return {"workflow_id": info.workflow_id or "", "activity": info.activity_type}
    return {}


def _trace_id() -> str | None:
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


class MaskingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return mask_secrets(super().format(record))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **(LOG_CONTEXT.get() or {}),
            **_temporal_ids(),
        }
        trace_id = _trace_id()
        if trace_id:
            line["trace_id"] = trace_id
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return mask_secrets(json.dumps(line, default=str))


def configure_logging(level: int = logging.INFO, log_format: str = "text") -> None:
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler())
        root.setLevel(level)
    formatter = (
        JsonFormatter()
        if log_format == "json"
        else MaskingFormatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    )
    for handler in root.handlers:
        handler.setFormatter(formatter)
    keep_quiet()


def keep_quiet() -> None:
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
