"""The outbox sweep's activity."""

from temporalio import activity

from contracts.delivery import SweepRequest, SweepResult
from outbox.dispatch import Dispatcher


class OutboxActivities:
    def __init__(self, dispatcher: Dispatcher) -> None:
        self._dispatcher = dispatcher

    @activity.defn
    async def dispatch_undispatched(self, request: SweepRequest) -> SweepResult:
        return SweepResult(
            dispatched=await self._dispatcher.dispatch_undispatched(request.older_than_seconds)
        )
