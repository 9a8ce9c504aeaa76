"""The certificate review's activities: read the PDF (CPU-heavy: the reader runs it in a bounded child
process, from this activity's thread), evaluate and publish, ask for the renewal, record the lapse. Each is
safe to retry; a refusal (the certificate is gone) is final."""

from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity

from activities.refusals import refusals_are_final
from common.settings import Settings
from contracts.certificates import CertificateReviewRequest, RenewalStep, ReviewOutcome
from documents.issuing import document_store
from integrations.certificate_reader import UnreadableCertificate, read_certificate
from outbox.dispatch import Dispatcher
from outbox.records import committed_items
from services import certificate_links, certificates


class CertificateActivities:
    def __init__(
        self, session_factory: sessionmaker[Session], settings: Settings, dispatcher: Dispatcher
    ) -> None:
        self._sessions, self._settings, self._dispatcher = session_factory, settings, dispatcher
        self._store = document_store(settings)

    @activity.defn
    def read_certificate(self, request: CertificateReviewRequest) -> None:
        """What the PDF says, kept with the certificate (or why it cannot be read)."""
        with self._sessions() as session, refusals_are_final():
            data = certificates.begin_reading(session, self._store, request.certificate_id)
        if data is None:
            return  # read already (a retried attempt) or decided
        try:
            parsed, unreadable = read_certificate(data), None
        except UnreadableCertificate as refused:
            parsed, unreadable = None, refused.reason
        with self._sessions() as session, refusals_are_final():
            certificates.record_reading(session, request.certificate_id, parsed, unreadable)

    @activity.defn
    def evaluate_certificate(self, request: CertificateReviewRequest) -> ReviewOutcome:
        """The rules' results, the status and its certificate.* event, in one transaction."""
        with self._sessions() as session, refusals_are_final():
            outcome = certificates.evaluate(session, self._settings, request.certificate_id)
            self._dispatcher.dispatch_from_thread(committed_items(session))
            return outcome

    @activity.defn
    def request_certificate_renewal(self, step: RenewalStep) -> bool:
        with self._sessions() as session, refusals_are_final():
            sent = certificate_links.request_renewal(
                session, self._settings, step.certificate_id, step.days_left
            )
            self._dispatcher.dispatch_from_thread(committed_items(session))
            return sent

    @activity.defn
    def record_certificate_lapse(self, step: RenewalStep) -> bool:
        with self._sessions() as session, refusals_are_final():
            lapsed = certificates.record_lapse(session, self._settings, step.certificate_id)
            self._dispatcher.dispatch_from_thread(committed_items(session))
            return lapsed
