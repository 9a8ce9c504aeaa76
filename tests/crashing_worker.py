"""``worker.py`` with a trap, for the crash tests: it SIGKILLs its own process at one activity boundary,
as a power cut or an OOM kill would.

    python -m tests.crashing_worker before:charge_card     (the activity has started; nothing done yet)
    python -m tests.crashing_worker after:charge_card      (its work is done; Temporal has not heard back)

Settings come from GIGCOVER_* variables like the real worker's.
"""

import asyncio
import os
import signal
import sys
from typing import Any

from temporalio import activity
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

import worker


class KillAt(Interceptor):
    def __init__(self, boundary: str) -> None:
        self.moment, self.activity_type = boundary.split(":")
        assert self.moment in ("before", "after"), boundary

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Trap(next, self)


class _Trap(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, trap: KillAt) -> None:
        super().__init__(next)
        self.trap = trap

    def _spring(self, moment: str) -> None:
        if self.trap.moment == moment and activity.info().activity_type == self.trap.activity_type:
            os.kill(os.getpid(), signal.SIGKILL)

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        self._spring("before")
        result = await self.next.execute_activity(input)
        self._spring("after")
        return result


if __name__ == "__main__":
    asyncio.run(worker.main(interceptors=[KillAt(sys.argv[1])]))
