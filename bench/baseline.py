"""The bare baseline: the same number of no-op activities and a timer, nothing else."""

from datetime import timedelta

from temporalio import activity, workflow


@activity.defn
async def noop() -> None:
    return None


@workflow.defn
class BaselineWorkflow:
    @workflow.run
    async def run(self, activities: int) -> None:
        for _ in range(activities):
            await workflow.execute_activity(noop, start_to_close_timeout=timedelta(seconds=30))
        await workflow.sleep(timedelta(milliseconds=1))


@workflow.defn
class LocalBaselineWorkflow:
    """The same, with local activities: the floor for a workflow whose steps are local activities."""

    @workflow.run
    async def run(self, activities: int) -> None:
        for _ in range(activities):
            await workflow.execute_local_activity(noop, start_to_close_timeout=timedelta(seconds=30))
        await workflow.sleep(timedelta(milliseconds=1))
