"""The CertificateReviewWorkflow alone, its activities fakes: a read that fails for a reason of the worker's
(the store, the database) is retried until it is done, never turned into an unreadable certificate."""

from uuid import uuid4

from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.certificates import CertificateActivities
from contracts.certificates import CertificateReviewRequest, RenewalStep, ReviewOutcome
from domain.certificates import CertificateStatus
from tests.workflows.fakes import fake_of
from workflows.certificate_review import CertificateReviewWorkflow
from workflows.registry import WORKFLOW_RUNNER


class FlakyStore:
    """The read fails ``failures`` times (the store or the database away), then succeeds."""

    def __init__(self, failures: int) -> None:
        self.failures, self.reads, self.read_done = failures, 0, False

    @fake_of(CertificateActivities.read_certificate)
    async def read_certificate(self, request: CertificateReviewRequest) -> None:
        self.reads += 1
        if self.reads <= self.failures:
            raise RuntimeError("the document store did not answer")
        self.read_done = True

    @fake_of(CertificateActivities.evaluate_certificate)
    async def evaluate_certificate(self, request: CertificateReviewRequest) -> ReviewOutcome:
        if not self.read_done:  # as the service does: nothing read means the file could not be read
            return ReviewOutcome(status=CertificateStatus.ERROR, error="the certificate could not be read")
        return ReviewOutcome(status=CertificateStatus.APPROVED)

    @fake_of(CertificateActivities.request_certificate_renewal)
    async def request_certificate_renewal(self, step: RenewalStep) -> bool:
        return True

    @fake_of(CertificateActivities.record_certificate_lapse)
    async def record_certificate_lapse(self, step: RenewalStep) -> bool:
        return True


async def test_a_read_the_worker_failed_is_retried_not_recorded_as_unreadable(
    time_skipping: WorkflowEnvironment,
) -> None:
    fakes = FlakyStore(failures=5)
    task_queue = f"unit-{uuid4().hex[:8]}"
    async with Worker(
        time_skipping.client,
        task_queue=task_queue,
        workflows=[CertificateReviewWorkflow],
        activities=[
            fakes.read_certificate,
            fakes.evaluate_certificate,
            fakes.request_certificate_renewal,
            fakes.record_certificate_lapse,
        ],
        workflow_runner=WORKFLOW_RUNNER,
    ):
        outcome = await time_skipping.client.execute_workflow(
            CertificateReviewWorkflow.run,
            CertificateReviewRequest(certificate_id="ci_unit"),
            id=f"certificate-ci_unit{uuid4().hex[:6]}",
            task_queue=task_queue,
        )
    assert (outcome.status, fakes.reads) == (CertificateStatus.APPROVED, 6)
