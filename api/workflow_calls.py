"""Calling a running workflow from synchronous routes: queries and updates, bounded in time.

Routes run in the threadpool; the Temporal client lives on the server's event loop."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio.from_thread
from fastapi import Request
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from api.errors import ApiError
from common.temporal import UPDATE_TIMEOUT_SECONDS

T = TypeVar("T")
# A query is answered by a worker (replaying the workflow if it is not cached); the stored row says nearly
# the same, so a busy worker gets one second before a GET answers from the database instead.
QUERY_TIMEOUT, UPDATE_TIMEOUT = 1.0, UPDATE_TIMEOUT_SECONDS


def call(request: Request, operation: Callable[[Client], Awaitable[T]], timeout: float) -> T:
    client: Client = request.app.state.temporal

    async def bounded() -> T:
        return await asyncio.wait_for(operation(client), timeout)

    return anyio.from_thread.run(bounded)


def query(request: Request, workflow_id: str, name: str, result_type: type[T]) -> T | None:
    """The workflow's answer, or None when it cannot answer now (not started yet, no worker, too slow)."""
    try:
        return call(
            request,
            lambda c: c.get_workflow_handle(workflow_id).query(name, result_type=result_type),
            QUERY_TIMEOUT,
        )
    except Exception:  # not started yet, no worker polling, too slow: the caller falls back to the database
        return None


def update(request: Request, workflow_id: str, name: str, arg: Any, result_type: type[T]) -> T:
    """Run an Update; a rejected or failed one becomes a 409 carrying the workflow's own message."""

    async def run(client: Client) -> T:
        handle = client.get_workflow_handle(workflow_id)
        if arg is None:
            return await handle.execute_update(name, result_type=result_type)
        return await handle.execute_update(name, arg, result_type=result_type)

    try:
        return call(request, run, UPDATE_TIMEOUT)
    except WorkflowUpdateFailedError as failed:
        cause = failed.cause
        while cause is not None and not isinstance(cause, ApplicationError) and cause.__cause__ is not None:
            cause = cause.__cause__  # type: ignore[assignment]
        message = cause.message if isinstance(cause, ApplicationError) else str(failed)
        code = cause.type if isinstance(cause, ApplicationError) and cause.type else "bad_request"
        raise ApiError(409 if code != "CardDeclined" else 402, code, message) from None
    except TimeoutError:
        raise ApiError(503, "general", "The application service did not answer in time; try again") from None
    except RPCError as error:
        raise ApiError(503, "general", f"The application service is unavailable: {error.message}") from None
