"""Run on a schedule: policies reach ``expired`` at their expiration date and bills ``overdue`` after their
due date, without anyone calling the API."""

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.lifecycle import LifecycleActivities
    from contracts.delivery import LIFECYCLE_SWEEP_WORKFLOW, LifecycleResult


@workflow.defn(name=LIFECYCLE_SWEEP_WORKFLOW)
class LifecycleSweepWorkflow:
    @workflow.run
    async def run(self) -> LifecycleResult:
        return await workflow.execute_activity_method(
            LifecycleActivities.sweep_lifecycle, start_to_close_timeout=timedelta(minutes=5)
        )
