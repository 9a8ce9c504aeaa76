"""Reminders to contractors whose insurance application is unfinished, for the reminder sweep
(workflows/application_reminders.py): which applications may be due, and one application's reminder.

An organization turns them on, for each environment, in Settings or with PUT /organization
(``application_reminder_days``, services/organization.py); domain/reminders.py says when one is due. The
email goes to the contractor with the application's own link (the same unguessable ``/apply/<token>`` the
application link email carries; the stored copy of the email withholds it), and is queued in the
transaction that records the reminder, whose row is unique per application and UTC day."""

from sqlalchemy import Case, case, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from common.settings import Settings
from db.models import ApplicationReminder, ApplicationSession, Contractor, Job, Organization
from domain.api_keys import PRODUCTION
from domain.reminders import DAY_SECONDS, REMINDABLE, reminder_day, reminder_due
from notifications.catalog import ApplicationReminder as ReminderEmail
from notifications.catalog import EmailKind
from outbox.records import enqueue_email
from services import representations as render


def _chosen_days() -> Case[int | None]:
    """The reminder days of the application's own environment (its organization joined)."""
    return case(
        (ApplicationSession.environment == PRODUCTION, Organization.application_reminder_days),
        else_=Organization.sandbox_application_reminder_days,
    )


def applications_to_look_at(session: Session, at: int) -> list[str]:
    """Applications that may be due a reminder at ``at``: waiting for the contractor, not past their
    lifetime, in an environment with reminders on, open for at least the chosen number of days; oldest
    first (ids only, every one: open applications live days, so they are few). Whether each is due is
    decided by ``remind``."""
    days = _chosen_days()
    query = (
        select(ApplicationSession.id)
        .join(Organization, Organization.id == ApplicationSession.organization_id)
        .where(
            ApplicationSession.status.in_(sorted(REMINDABLE)),
            ApplicationSession.expires_at > at,
            ApplicationSession.deleted_at.is_(None),
            days.is_not(None),
            ApplicationSession.created + days * DAY_SECONDS <= at,
        )
        .order_by(ApplicationSession.created)
    )
    return list(session.scalars(query))


def reminders_sent(session: Session, session_id: str) -> list[ApplicationReminder]:
    query = select(ApplicationReminder).where(ApplicationReminder.application_session_id == session_id)
    return list(session.scalars(query.order_by(ApplicationReminder.sent_at)))


def remind(session: Session, settings: Settings, session_id: str, at: int) -> str | None:
    """Email the contractor of application ``session_id`` the reminder due at ``at`` (unix seconds), and
    commit; its email's id, or None when none is due: finished, withdrawn, expired or under review,
    reminders turned off, reminded already today or in this period, or the contractor is gone. Safe to
    repeat and to run in two workers at once: the second finds the reminder (or fails to insert it)."""
    row = session.scalar(select(ApplicationSession).where(ApplicationSession.id == session_id))
    if row is None or row.deleted_at is not None or row.status not in REMINDABLE:
        return None
    organization = session.get(Organization, row.organization_id)
    every = organization.reminder_days(row.environment) if organization else None
    if organization is None or every is None:
        return None
    sent = [r.sent_at for r in reminders_sent(session, row.id)]
    if not reminder_due(row.created, row.expires_at, at, every, sent):
        return None
    contractor = session.scalar(select(Contractor).where(Contractor.id == row.contractor_id))
    if contractor is None or contractor.deleted_at is not None or not contractor.email:
        return None
    job = session.scalar(select(Job).where(Job.id == row.job_id)) if row.job_id else None
    message = enqueue_email(
        session,
        row.organization_id,
        row.environment,
        EmailKind.APPLICATION_REMINDER,
        contractor.email,
        ReminderEmail(
            organization_name=organization.name,
            contractor_name=contractor.full_name,
            url=render.application_session(row, settings.public_base_url)["url"],
            job_name=job.name if job else None,
            opened_at=row.created,
            expires_at=row.expires_at,
        ),
        related={"application_session": row.id, "contractor": contractor.id},
    )
    session.add(
        ApplicationReminder(
            organization_id=row.organization_id,
            environment=row.environment,
            application_session_id=row.id,
            day=reminder_day(at),
            sent_at=at,
            email_id=message.id,
        )
    )
    try:
        session.commit()
    except IntegrityError:  # another worker recorded today's reminder first: its email is the one
        session.rollback()
        return None
    return message.id
