"""A contractor CSV import, batch by batch: thousands of rows go through off the request, each batch one
activity (one transaction), and the page asks the ``progress`` query how far it got."""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.contractor_import import ContractorImportActivities
    from contracts.contractor_import import (
        CONTRACTOR_IMPORT_WORKFLOW,
        PROGRESS,
        REFUSALS_KEPT,
        FinishedImport,
        ImportBatch,
        ImportProgress,
        ImportRequest,
    )
    from domain.statuses import ImportStatus

BATCH_TIMEOUT = timedelta(minutes=2)
DATABASE_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))


@workflow.defn(name=CONTRACTOR_IMPORT_WORKFLOW)
class ContractorImportWorkflow:
    def __init__(self) -> None:
        self._progress = ImportProgress()

    @workflow.query(name=PROGRESS.name)
    def progress(self) -> ImportProgress:
        return self._progress

    @workflow.run
    async def run(self, request: ImportRequest) -> ImportProgress:
        p = self._progress = ImportProgress(rows=request.rows)
        try:
            for batch in range(request.batches):
                result = await workflow.execute_activity_method(
                    ContractorImportActivities.import_contractor_batch,
                    ImportBatch(request=request, batch=batch),
                    start_to_close_timeout=BATCH_TIMEOUT,
                    retry_policy=DATABASE_RETRY,
                    summary=f"batch {batch + 1} of {request.batches}",
                )
                p.created += result.created
                p.existing += result.existing
                p.refused_count += len(result.refused)
                p.refused.extend(result.refused[: max(0, REFUSALS_KEPT - len(p.refused))])
                p.processed += result.rows
        except ActivityError as error:
            cause = error.cause
            p.status = ImportStatus.FAILED
            p.failure = cause.message if isinstance(cause, ApplicationError) else str(error)
        await workflow.execute_activity_method(
            ContractorImportActivities.record_contractor_import_finished,
            FinishedImport(request=request, created=p.created, existing=p.existing, refused=p.refused_count),
            start_to_close_timeout=BATCH_TIMEOUT,
            retry_policy=DATABASE_RETRY,
            summary="the import's summary in the audit log",
        )
        if p.status == ImportStatus.RUNNING:
            p.status, p.processed = ImportStatus.FINISHED, request.rows
        return p
