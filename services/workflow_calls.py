"""Queries, Updates and signals to running workflows, from synchronous code in one of the server's worker
threads (routes and pages run there; the Temporal client lives on the server's event loop).

A workflow's refusal becomes a DomainError carrying the workflow's own message, so every front shows it."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio.from_thread
from temporalio.client import (
    Client,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
    WorkflowUpdateStage,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from common.temporal import UPDATE_TIMEOUT_SECONDS
from contracts.calls import QueryName, SignalName, UpdateName
from domain.errors import DomainError, Refusal, unavailable

T = TypeVar("T")
A = TypeVar("A")
# A query is answered by a worker (replaying the workflow if it is not cached); the stored row says nearly
# the same, so a busy worker gets one second before a read answers from the database instead.
QUERY_TIMEOUT, UPDATE_TIMEOUT = 1.0, UPDATE_TIMEOUT_SECONDS
CARD_DECLINED = "CardDeclined"


class WorkflowCalls:
    def __init__(self, client: Client) -> None:
        self.client = client

    def run(self, operation: Callable[[Client], Awaitable[T]], timeout: float) -> T:
        async def bounded() -> T:
            return await asyncio.wait_for(operation(self.client), timeout)

        return anyio.from_thread.run(bounded)

    def query(self, workflow_id: str, query: QueryName[T]) -> T | None:
        """The workflow's answer, or None when it cannot answer now (not started yet, no worker, too slow)."""
        try:
            return self.run(
                lambda c: c.get_workflow_handle(workflow_id).query(query.name, result_type=query.result_type),
                QUERY_TIMEOUT,
            )
        except Exception:  # not started yet, no worker polling, too slow: the caller reads the database
            return None

    def update(self, workflow_id: str, update: UpdateName[A, T], arg: A) -> T:
        """Run an Update (``arg`` None for one that takes none); a rejected or failed one is refused with the
        workflow's own message."""

        async def run(client: Client) -> T:
            handle = client.get_workflow_handle(workflow_id)
            if arg is None:
                return await handle.execute_update(update.name, result_type=update.result_type)
            return await handle.execute_update(update.name, arg, result_type=update.result_type)

        return self._updated(run, UPDATE_TIMEOUT)

    def update_or_accepted(self, workflow_id: str, update: UpdateName[A, T], arg: A) -> T | None:
        """Run an Update; None when the workflow accepted it (its validator passed and its handler runs) but
        has not finished it in time: it finishes by itself (a processor slow to answer), so the caller can say
        the change is kept. Refused as ``update`` refuses; unavailable when it was not even accepted."""

        async def run(client: Client) -> T | None:
            loop = asyncio.get_running_loop()
            ends = loop.time() + UPDATE_TIMEOUT
            running = await client.get_workflow_handle(workflow_id).start_update(
                update.name, arg, wait_for_stage=WorkflowUpdateStage.ACCEPTED, result_type=update.result_type
            )
            try:
                return await asyncio.wait_for(running.result(), max(ends - loop.time(), 0.1))
            except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
                return None  # accepted: the workflow finishes it without us

        return self._updated(run, UPDATE_TIMEOUT + 1.0)

    def _updated(self, run: Callable[[Client], Awaitable[T]], timeout: float) -> T:
        """An Update's answer, its refusal as the workflow's own DomainError, else unavailable."""
        try:
            return self.run(run, timeout)
        except WorkflowUpdateFailedError as failed:
            raise refusal_of(failed) from None
        except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
            # Not an answer either way: the Update may still be running (a processor slow to answer), and
            # finishes without us. The caller says what it kept, or that it is unsure.
            raise unavailable("The application service did not answer in time; try again") from None
        except RPCError as error:
            raise unavailable(f"The application service is unavailable: {error.message}") from None

    def signal(self, workflow_id: str, signal: SignalName[A], arg: A) -> None:
        try:
            self.run(lambda c: c.get_workflow_handle(workflow_id).signal(signal.name, arg), UPDATE_TIMEOUT)
        except (TimeoutError, RPCError):
            raise unavailable("The application service did not answer in time; try again") from None


def refusal_of(failed: WorkflowUpdateFailedError) -> DomainError:
    cause = failed.cause
    while cause is not None and not isinstance(cause, ApplicationError) and cause.__cause__ is not None:
        cause = cause.__cause__
    message = cause.message if isinstance(cause, ApplicationError) else str(failed)
    code = cause.type if isinstance(cause, ApplicationError) and cause.type else "bad_request"
    kind = Refusal.DECLINED if code == CARD_DECLINED else Refusal.CONFLICT
    return DomainError(code, message, kind=kind)
