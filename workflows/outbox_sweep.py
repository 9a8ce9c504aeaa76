"""Run on a schedule: start the delivery workflow of any outbox row a crash left undispatched."""

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.outbox import OutboxActivities
    from contracts.delivery import OUTBOX_SWEEP_WORKFLOW, SweepRequest, SweepResult


@workflow.defn(name=OUTBOX_SWEEP_WORKFLOW)
class OutboxSweepWorkflow:
    @workflow.run
    async def run(self, request: SweepRequest) -> SweepResult:
        return await workflow.execute_activity_method(
            OutboxActivities.dispatch_undispatched,
            request,
            start_to_close_timeout=timedelta(minutes=5),
        )
