"""CreatorIQ → gigcover: find the creators to sync, then sync each (campaign, creator) on its own.

A scan asks CreatorIQ which Accepted creators a trigger concerns (a webhook names one creator; the API or
the schedule may ask for a campaign or for everything) and signals each creator's sync workflow, starting
it if it is not running. A creator's sync reads CreatorIQ, decides with seed 002's rules, and applies the
decision; a request that arrives while it runs makes it go round once more, so no update is missed.
"""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ChildWorkflowError

with workflow.unsafe.imports_passed_through():
    from activities.creatoriq import CreatorIQActivities
    from contracts.creatoriq import (
        CREATOR_SYNC_WORKFLOW,
        CREATORIQ_POLL_WORKFLOW,
        CREATORIQ_SCAN_WORKFLOW,
        REQUEST_SYNC,
        ApplySync,
        CreatorRef,
        ScanRequest,
        SyncReport,
        SyncRequests,
        scan_workflow_id,
    )
    from domain.creatoriq import SyncDecision, SyncOutcome, decide_sync

# CreatorIQ being down for a while is retried; past this the creator is reported and the next trigger
# tries again.
CREATORIQ_PATIENCE = timedelta(hours=1)
CREATORIQ_RETRY = RetryPolicy(initial_interval=timedelta(seconds=5), maximum_interval=timedelta(minutes=5))
DATABASE = timedelta(seconds=60)
UNREACHABLE = "CreatorIQ could not be reached for an hour; the next update or scheduled sync tries again"


@workflow.defn(name=CREATOR_SYNC_WORKFLOW)
class CreatorSyncWorkflow:
    def __init__(self) -> None:
        self._requested = False

    @workflow.signal(name=REQUEST_SYNC.name)
    def request_sync(self, trigger: str) -> None:
        """``trigger`` (webhook, api, schedule) is kept in the history for ops; any request means go again."""
        self._requested = True

    @workflow.run
    async def run(self, creator: CreatorRef) -> SyncReport:
        while True:
            self._requested = False
            report = await self._sync(creator)
            if report.superseded_session_id:
                await workflow.execute_activity_method(
                    CreatorIQActivities.expire_application,
                    report.superseded_session_id,
                    start_to_close_timeout=DATABASE,
                    summary="expire the application the new terms replace",
                )
            if not self._requested:
                return report

    async def _sync(self, creator: CreatorRef) -> SyncReport:
        try:
            fetched = await workflow.execute_activity_method(
                CreatorIQActivities.fetch_creator,
                creator,
                start_to_close_timeout=timedelta(minutes=2),
                schedule_to_close_timeout=CREATORIQ_PATIENCE,
                retry_policy=CREATORIQ_RETRY,
                summary="read the creator, the campaign and the creator's campaign fields",
            )
            if fetched.snapshot is None:
                decision = SyncDecision(SyncOutcome.FAILED, (fetched.problem or "unknown problem",))
            else:
                decision = decide_sync(fetched.snapshot, int(workflow.now().timestamp()))
        except ActivityError:
            decision = SyncDecision(SyncOutcome.FAILED, (UNREACHABLE,))
        return await workflow.execute_activity_method(
            CreatorIQActivities.apply_sync,
            ApplySync(creator=creator, decision=decision),
            start_to_close_timeout=DATABASE,
            summary=f"apply: {decision.outcome.value}",
        )


@workflow.defn(name=CREATORIQ_SCAN_WORKFLOW)
class CreatorIQScanWorkflow:
    @workflow.run
    async def run(self, request: ScanRequest) -> int:
        creators = await workflow.execute_activity_method(
            CreatorIQActivities.find_accepted_creators,
            request,
            start_to_close_timeout=timedelta(minutes=10),
            schedule_to_close_timeout=CREATORIQ_PATIENCE,
            retry_policy=CREATORIQ_RETRY,
            heartbeat_timeout=timedelta(minutes=2),
            summary="list the Accepted creators this trigger concerns",
        )
        if creators:
            await workflow.execute_activity_method(
                CreatorIQActivities.request_syncs,
                SyncRequests(creators=creators, trigger=request.trigger),
                start_to_close_timeout=timedelta(minutes=5),
                summary=f"sync {len(creators)} creator(s)",
            )
        return len(creators)


@workflow.defn(name=CREATORIQ_POLL_WORKFLOW)
class CreatorIQPollWorkflow:
    """Run by a Temporal schedule: a scan for every connection that has no webhook subscription."""

    @workflow.run
    async def run(self) -> int:
        connections = await workflow.execute_activity_method(
            CreatorIQActivities.connections_to_poll,
            start_to_close_timeout=DATABASE,
        )
        started = workflow.now().strftime("%Y%m%dT%H%M%S")
        scanned = 0
        for connection in connections:
            try:
                await workflow.execute_child_workflow(
                    CreatorIQScanWorkflow.run,
                    ScanRequest(
                        organization_id=connection.organization_id,
                        environment=connection.environment,
                        trigger="schedule",
                    ),
                    id=scan_workflow_id(connection.organization_id, connection.environment, "poll", started),
                )
                scanned += 1
            except ChildWorkflowError:  # one organization's CreatorIQ trouble does not stop the others
                workflow.logger.warning("CreatorIQ scan of %s failed", connection.organization_id)
        return scanned
