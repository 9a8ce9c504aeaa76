from concurrent.futures import ThreadPoolExecutor

from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from common.settings import Settings
from worker import build_worker
from workflows.registry import WORKFLOWS


async def test_worker_registers_every_workflow(
    temporal_env: WorkflowEnvironment, settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    client = await Client.connect(temporal_env.client.service_client.config.target_host)
    with ThreadPoolExecutor(max_workers=settings.worker_activity_threads) as executor:
        async with build_worker(client, settings, session_factory, executor) as worker:
            assert worker.task_queue == "gigcover"
    assert {w.__name__ for w in WORKFLOWS} == {
        "ApplicationWorkflow",
        "AssignmentWorkflow",
        "WebhookDeliveryWorkflow",
        "EmailDeliveryWorkflow",
        "OutboxSweepWorkflow",
        "LifecycleSweepWorkflow",
        "CreatorSyncWorkflow",
        "CreatorIQScanWorkflow",
        "CreatorIQPollWorkflow",
        "ContractorImportWorkflow",
        "CertificateReviewWorkflow",
        "ApplicationRemindersWorkflow",
    }
