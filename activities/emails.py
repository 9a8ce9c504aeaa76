"""Handing recorded emails to an SMTP server, one attempt per activity attempt."""

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from common.settings import Settings
from contracts.delivery import DeliveryFailure
from db.models import EmailMessage
from domain.statuses import EmailStatus
from outbox.senders import EmailSender, NotDeliveredYet, Undeliverable, settle


class EmailActivities:
    def __init__(self, session_factory: sessionmaker[Session], settings: Settings) -> None:
        self._sessions = session_factory
        self._sender = EmailSender(session_factory, settings)

    @activity.defn
    def send_email(self, email_id: str) -> str:
        try:
            self._sender.attempt(email_id)
        except Undeliverable as refusal:
            raise ApplicationError(str(refusal), type="EmailRejected", non_retryable=True) from None
        except NotDeliveredYet as failure:
            raise ApplicationError(str(failure), type="SmtpUnavailable") from None
        return email_id

    @activity.defn
    def give_up_email(self, failure: DeliveryFailure) -> None:
        with self._sessions() as session:
            message = session.scalar(select(EmailMessage).where(EmailMessage.id == failure.id))
            if message is not None and message.status == EmailStatus.PENDING:
                settle(message, EmailStatus.FAILED, failure.reason)
                session.commit()
