"""The contractor import's activities: one batch of rows in one transaction, and the import's summary in
the audit log (which also deletes the uploaded file). A refusal (the upload is gone) is final; anything else
(the database) is retried."""

from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.refusals import refusals_are_final
from common.settings import Settings
from contracts.contractor_import import BatchResult, FinishedImport, ImportBatch, ImportRequest
from db.models import Organization
from documents.issuing import document_store
from services import contractor_import
from services.audit import Actor
from services.tenancy import Tenant


def _tenant(session: Session, request: ImportRequest) -> Tenant:
    organization = session.get(Organization, request.organization_id)
    if organization is None:
        raise ApplicationError(f"no organization {request.organization_id}", non_retryable=True)
    return Tenant(organization, request.environment)


def _actor(request: ImportRequest) -> Actor:
    return Actor(request.actor, request.actor_member_id, request.actor_ip)


class ContractorImportActivities:
    def __init__(self, session_factory: sessionmaker[Session], settings: Settings) -> None:
        self._sessions, self._store = session_factory, document_store(settings)

    @activity.defn
    def import_contractor_batch(self, batch: ImportBatch) -> BatchResult:
        request = batch.request
        with self._sessions() as session, refusals_are_final():
            return contractor_import.import_batch(
                session,
                self._store,
                _tenant(session, request),
                request.upload_id,
                batch.batch,
                _actor(request),
                request.batch_rows,
            )

    @activity.defn
    def record_contractor_import_finished(self, finished: FinishedImport) -> None:
        request = finished.request
        with self._sessions() as session, refusals_are_final():
            contractor_import.record_finished(
                session,
                self._store,
                _tenant(session, request),
                request.upload_id,
                _actor(request),
                finished.created,
                finished.existing,
                finished.refused,
            )
