"""Handing recorded emails to an SMTP server."""

import smtplib
import time
from email.message import EmailMessage as MimeMessage
from email.utils import formatdate

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from common.settings import Settings
from db.models import EmailMessage
from workflows.messages import DeliveryFailure


def to_mime(message: EmailMessage, sender: str) -> MimeMessage:
    mime = MimeMessage()
    mime["From"], mime["To"], mime["Subject"] = sender, message.recipient, message.subject
    mime["Date"] = formatdate(message.created, usegmt=True)
    mime["Message-ID"] = f"<{message.id}@gigcover>"  # stable, so a resend after a crash can be recognised
    mime["X-Gigcover-Kind"] = message.kind
    mime.set_content(message.text_body)
    mime.add_alternative(message.html_body, subtype="html")
    return mime


class EmailActivities:
    def __init__(self, session_factory: sessionmaker[Session], settings: Settings) -> None:
        self._sessions = session_factory
        self._settings = settings

    @activity.defn
    def send_email(self, email_id: str) -> str:
        with self._sessions() as session:
            message = session.scalar(select(EmailMessage).where(EmailMessage.id == email_id))
            if message is None:
                raise ApplicationError(f"no email {email_id}", type="EmailRejected", non_retryable=True)
            if message.status == "sent":
                return message.id
            mime = to_mime(message, self._settings.mail_from)
            try:
                self._send(mime)
            except smtplib.SMTPRecipientsRefused as refused:
                message.status, message.last_error = "failed", f"recipient refused: {refused.recipients}"
                session.commit()
                raise ApplicationError(message.last_error, type="EmailRejected", non_retryable=True) from None
            except (OSError, smtplib.SMTPException) as failure:
                message.attempt_count += 1
                message.last_error = f"{type(failure).__name__}: {failure}"
                session.commit()
                raise ApplicationError(
                    f"SMTP unavailable: {message.last_error}", type="SmtpUnavailable"
                ) from None
            message.attempt_count += 1
            message.status, message.sent_at, message.last_error = "sent", int(time.time()), None
            session.commit()
            return message.id

    def _send(self, mime: MimeMessage) -> None:
        settings = self._settings
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=15) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_username:
                smtp.login(settings.smtp_username, settings.smtp_password or "")
            smtp.send_message(mime)

    @activity.defn
    def give_up_email(self, failure: DeliveryFailure) -> None:
        with self._sessions() as session:
            message = session.scalar(select(EmailMessage).where(EmailMessage.id == failure.id))
            if message is not None and message.status == "pending":
                message.status, message.last_error = "failed", failure.reason
                session.commit()
