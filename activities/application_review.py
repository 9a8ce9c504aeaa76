"""Side effects of an application's manual review: each step stores the session's status, its event and (for
a decision) the email to the contractor in one transaction, safe to retry."""

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity

from activities.base import row_of
from common.settings import Settings
from contracts.application import ReviewEmail, ReviewRecord
from db.models import ApplicationSession, Contractor, Job, Organization
from notifications.catalog import (
    ApplicationReviewApproved,
    ApplicationReviewDeclined,
    EmailContext,
    EmailKind,
)
from outbox.dispatch import Dispatcher
from outbox.records import committed_items, enqueue_email, record_event
from services import representations as render


class ApplicationReviewActivities:
    def __init__(
        self, session_factory: sessionmaker[Session], settings: Settings, dispatcher: Dispatcher
    ) -> None:
        self._sessions, self._settings, self._dispatcher = session_factory, settings, dispatcher

    @activity.defn
    def record_review(self, record: ReviewRecord) -> None:
        with self._sessions() as session:
            row = row_of(session, ApplicationSession, record.session_id)
            row.step, row.status = record.step, record.status
            if record.email == "declined":
                row.ended_reason = record.reason
            session.flush()
            snapshot = render.application_session(row, self._settings.public_base_url)
            data = {**snapshot, "reason": record.reason}
            owner = (row.organization_id, row.environment)
            record_event(session, *owner, record.event_type, data, record.event_id)
            if record.email is not None:
                self._email(session, row, record.email, snapshot["url"], record.reason or "")
            session.commit()
            self._dispatcher.dispatch_from_thread(committed_items(session))

    def _email(
        self, session: Session, row: ApplicationSession, decision: ReviewEmail, url: str, reason: str
    ) -> None:
        contractor = session.scalar(select(Contractor).where(Contractor.id == row.contractor_id))
        organization = session.get(Organization, row.organization_id)
        job = session.scalar(select(Job).where(Job.id == row.job_id)) if row.job_id else None
        assert contractor and organization
        facts = {
            "organization_name": organization.name,
            "contractor_name": f"{contractor.first_name} {contractor.last_name}",
            "job_name": job.name if job else None,
        }
        context: EmailContext
        if decision == "approved":
            kind = EmailKind.APPLICATION_REVIEW_APPROVED
            context = ApplicationReviewApproved(**facts, url=url, expires_at=row.expires_at)
        else:
            kind = EmailKind.APPLICATION_REVIEW_DECLINED
            context = ApplicationReviewDeclined(**facts, reason=reason)
        enqueue_email(
            session,
            row.organization_id,
            row.environment,
            kind,
            contractor.email,
            context,
            related={"application_session": row.id},
            email_id=f"em_review_{row.id.removeprefix('ias_')}",
        )
