"""One certificate of insurance, from its upload to the end of its coverage: read it, evaluate it against
the organization's requirement and publish the outcome; then, while it is the contractor's newest
certificate, ask for the renewal 30 and 7 days before its coverage ends and record the lapse when it
does. A newer upload for the contractor (the SUPERSEDED signal) ends it early."""

import contextlib
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.certificates import CertificateActivities
    from contracts.certificates import (
        CERTIFICATE_REVIEW_WORKFLOW,
        RENEWAL_REMINDER_DAYS,
        SUPERSEDED,
        CertificateReviewRequest,
        RenewalStep,
        ReviewOutcome,
    )
    from domain.certificates import CertificateStatus

# The reader bounds its own child process (60 s wall by default); the attempt gets a margin over that.
READ_TIMEOUT = timedelta(minutes=3)
STEP_TIMEOUT = timedelta(minutes=1)
# Retried until it is done: the reader turns every problem with the file into a recorded reason (the
# certificate's error), so a failing attempt is the store, the database or the worker, never the file.
READ_RETRY = RetryPolicy(initial_interval=timedelta(seconds=5), maximum_interval=timedelta(minutes=10))
DATABASE_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1))
DAY_SECONDS = 86_400


def reminder_moments(coverage_ends: int, now: int) -> list[tuple[int, int]]:
    """(days_left, when) of each renewal reminder still to send: those due later, and of those already due
    only the latest (a certificate uploaded 10 days before it ends gets the 30-day reminder at once, once)."""
    moments = [
        (days, coverage_ends - days * DAY_SECONDS) for days in sorted(RENEWAL_REMINDER_DAYS, reverse=True)
    ]
    due = [m for m in moments if m[1] <= now]
    return ([due[-1]] if due else []) + [m for m in moments if m[1] > now]


@workflow.defn(name=CERTIFICATE_REVIEW_WORKFLOW)
class CertificateReviewWorkflow:
    def __init__(self) -> None:
        self._superseded_by: str | None = None

    @workflow.signal(name=SUPERSEDED.name)
    def superseded(self, by: str) -> None:
        self._superseded_by = by

    async def _until(self, moment: int) -> bool:
        """Waits until ``moment`` (unix seconds); False when a newer certificate came first."""
        left = moment - int(workflow.now().timestamp())
        if left > 0:
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(lambda: self._superseded_by is not None, timeout=left)
        return self._superseded_by is None

    @workflow.run
    async def run(self, request: CertificateReviewRequest) -> ReviewOutcome:
        # Only a final refusal ends the read early (the certificate is gone); the evaluation then says so.
        with contextlib.suppress(ActivityError):
            await workflow.execute_activity_method(
                CertificateActivities.read_certificate,
                request,
                start_to_close_timeout=READ_TIMEOUT,
                retry_policy=READ_RETRY,
                summary="read the certificate",
            )
        outcome = await workflow.execute_activity_method(
            CertificateActivities.evaluate_certificate,
            request,
            start_to_close_timeout=STEP_TIMEOUT,
            retry_policy=DATABASE_RETRY,
            summary="evaluate it against the requirement and publish the outcome",
        )
        ends = outcome.coverage_ends
        if outcome.status is CertificateStatus.ERROR or ends is None:
            return outcome
        if ends <= int(workflow.now().timestamp()):
            return outcome  # never in force on upload: nothing to renew, nothing lapses later
        for days_left, moment in reminder_moments(ends, int(workflow.now().timestamp())):
            if not await self._until(moment):
                return outcome
            await workflow.execute_activity_method(
                CertificateActivities.request_certificate_renewal,
                RenewalStep(certificate_id=request.certificate_id, days_left=days_left),
                start_to_close_timeout=STEP_TIMEOUT,
                retry_policy=DATABASE_RETRY,
                summary=f"ask for the renewal, {days_left} days before the coverage ends",
            )
        if await self._until(ends):
            await workflow.execute_activity_method(
                CertificateActivities.record_certificate_lapse,
                RenewalStep(certificate_id=request.certificate_id, days_left=0),
                start_to_close_timeout=STEP_TIMEOUT,
                retry_policy=DATABASE_RETRY,
                summary="record the lapse",
            )
        return outcome
