"""One attempt at delivering a recorded email or webhook delivery, with the attempt recorded on its row.

The delivery workflows' activities make every retry through these; the worker also makes the first attempt
itself right after the row commits (see ``FirstAttempt``). A refusal that no retry can cure raises
``Undeliverable``; anything worth retrying raises ``NotDeliveredYet``.
"""

import json
import math
import smtplib
import time
from collections.abc import Sequence
from email.message import EmailMessage as MimeMessage
from email.utils import formatdate

import httpx
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from common.settings import Settings
from common.webhook_signature import EVENT_ID_HEADER, SIGNATURE_HEADER, signature_header
from db.models import EmailMessage, Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from domain.statuses import DeliveryStatus, EmailStatus, WebhookEndpointStatus
from integrations.bounded_http import bounded_client, exchange
from integrations.outbound import TargetRefused, pin
from outbox.records import OutboxItem, event_payload

USER_AGENT = "gigcover-webhooks/1"
SMTP_TIMEOUT = 15.0  # seconds


class Undeliverable(Exception):
    """Retrying cannot help: the endpoint is gone, the recipient was refused, the row does not exist."""


class NotDeliveredYet(Exception):
    """The receiver did not take it this time (down, slow, answered an error): try again later."""


class WebhookSender:
    def __init__(
        self, session_factory: sessionmaker[Session], timeout_seconds: float, sandbox_private_targets: bool
    ) -> None:
        self._sessions = session_factory
        self._timeout = timeout_seconds
        self._sandbox_private = sandbox_private_targets
        self._http = bounded_client(headers={"User-Agent": USER_AGENT})

    def attempt(self, delivery_id: str, attempted_at: float, at_most: float = math.inf) -> int:
        """POST the signed event once, the whole exchange taking at most the configured timeout or
        ``at_most`` seconds, whichever is shorter, and reading at most 64 KiB of the answer (only its status
        counts); returns the endpoint's 2xx status."""
        with self._sessions() as session:
            delivery = session.scalar(select(WebhookDelivery).where(WebhookDelivery.id == delivery_id))
            if delivery is None:
                raise Undeliverable(f"no webhook delivery {delivery_id}")
            if delivery.status == DeliveryStatus.DELIVERED:
                return delivery.last_status_code or 200
            endpoint = session.scalar(
                select(WebhookEndpoint).where(WebhookEndpoint.id == delivery.endpoint_id)
            )
            if (
                endpoint is None
                or endpoint.deleted_at is not None
                or endpoint.status != WebhookEndpointStatus.ENABLED
            ):
                delivery.status = DeliveryStatus.CANCELLED
                delivery.last_error = "the endpoint was disabled or deleted"
                delivery.dispatched = True
                session.commit()
                raise Undeliverable("the endpoint was disabled or deleted")
            stored = session.scalar(select(Event).where(Event.id == delivery.event_id))
            if stored is None:
                raise Undeliverable(f"no event {delivery.event_id}")
            url, secrets, event_id, environment = (
                endpoint.url,
                endpoint.signing_secrets(attempted_at),  # two while a rolled secret's overlap lasts
                stored.id,
                endpoint.environment,
            )
            body = json.dumps(event_payload(stored), separators=(",", ":")).encode()

        started = time.monotonic()
        status: int | None = None
        error: str | None = None
        try:
            target = pin(url, environment, self._sandbox_private)  # checked again, on what is connected to
            response = exchange(
                self._http,
                "POST",
                target.url,
                min(at_most, self._timeout),
                content=body,
                headers={
                    **target.headers,
                    "Content-Type": "application/json",
                    SIGNATURE_HEADER: signature_header(secrets, body),
                    EVENT_ID_HEADER: event_id,
                    "ten99policy-delivery-id": delivery_id,
                },
                extensions=target.extensions,
            )
            status = response.status_code
            if not 200 <= status < 300:
                error = f"the endpoint answered HTTP {status}"
        except TargetRefused as refused:
            error = f"not sent: {refused}"
        except httpx.HTTPError as failure:
            error = f"{type(failure).__name__}: {failure or 'no answer'}"
        latency_ms = round((time.monotonic() - started) * 1000)
        self._record_attempt(delivery_id, attempted_at, status, latency_ms, error)
        if error:
            raise NotDeliveredYet(error)
        assert status is not None
        return status

    def _record_attempt(
        self, delivery_id: str, attempted_at: float, status: int | None, latency_ms: int, error: str | None
    ) -> None:
        with self._sessions() as session:
            delivery = session.scalar(select(WebhookDelivery).where(WebhookDelivery.id == delivery_id))
            assert delivery is not None
            attempt = delivery.attempt_count + 1
            session.add(
                WebhookAttempt(
                    delivery_id=delivery_id,
                    attempt=attempt,
                    attempted_at=attempted_at,
                    status_code=status,
                    latency_ms=latency_ms,
                    error=error,
                )
            )
            try:
                session.flush()
            except IntegrityError:  # a concurrent attempt took this number; its record stands
                session.rollback()
                delivery = session.scalar(select(WebhookDelivery).where(WebhookDelivery.id == delivery_id))
                assert delivery is not None
            delivery.attempt_count = max(delivery.attempt_count, attempt)
            delivery.last_status_code, delivery.last_error = status, error
            if error is None:
                delivery.status, delivery.delivered_at = DeliveryStatus.DELIVERED, int(attempted_at)
                delivery.dispatched = True
            session.commit()


def to_mime(message: EmailMessage, sender: str) -> MimeMessage:
    """The message as the recipient gets it: with its links, from the sealed copy while there is one."""
    sent = json.loads(message.sealed_message) if message.sealed_message else {}
    mime = MimeMessage()
    mime["From"], mime["To"], mime["Subject"] = sender, message.recipient, message.subject
    mime["Date"] = formatdate(message.created, usegmt=True)
    mime["Message-ID"] = f"<{message.id}@gigcover>"  # stable, so a resend after a crash can be recognised
    mime["X-Gigcover-Kind"] = message.kind
    mime.set_content(sent.get("text", message.text_body))
    mime.add_alternative(sent.get("html", message.html_body), subtype="html")
    return mime


def settle(message: EmailMessage, status: EmailStatus, error: str | None = None) -> None:
    """Record the email as done with (sent or failed for good): its sealed links are wiped, no retry needs
    them any more."""
    message.status, message.last_error = status, error
    message.dispatched, message.sealed_message = True, None


class EmailSender:
    def __init__(self, session_factory: sessionmaker[Session], settings: Settings) -> None:
        self._sessions = session_factory
        self._settings = settings

    def attempt(self, email_id: str, at_most: float = math.inf) -> None:
        """Hand the message to the SMTP server once, waiting SMTP_TIMEOUT or ``at_most`` seconds at most."""
        with self._sessions() as session:
            message = session.scalar(select(EmailMessage).where(EmailMessage.id == email_id))
            if message is None:
                raise Undeliverable(f"no email {email_id}")
            if message.status == EmailStatus.SENT:
                return
            mime = to_mime(message, self._settings.mail_from)
            session.commit()  # nothing written yet: no transaction stays open while the SMTP server talks
            try:
                self._send(mime, min(at_most, SMTP_TIMEOUT))
            except smtplib.SMTPRecipientsRefused as refused:
                settle(message, EmailStatus.FAILED, f"recipient refused: {refused.recipients}")
                session.commit()
                raise Undeliverable(message.last_error) from None
            except (OSError, smtplib.SMTPException) as failure:
                message.attempt_count += 1
                message.last_error = f"{type(failure).__name__}: {failure}"
                session.commit()
                raise NotDeliveredYet(f"SMTP unavailable: {message.last_error}") from None
            message.attempt_count += 1
            message.sent_at = int(time.time())
            settle(message, EmailStatus.SENT)
            session.commit()

    def _send(self, mime: MimeMessage, timeout: float) -> None:
        settings = self._settings
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_username:
                smtp.login(settings.smtp_username, settings.smtp_password or "")
            smtp.send_message(mime)


class FirstAttempt:
    """The worker delivers new emails and webhooks itself, in the thread that committed them, within a
    time budget. Only what this attempt could not deliver gets a delivery workflow, which retries for days:
    a delivery that works the first time costs no workflow, one that fails is as durable as before. Should
    the worker die mid-way, the outbox sweep starts workflows for what was left undispatched."""

    def __init__(self, webhooks: WebhookSender, emails: EmailSender, budget_seconds: float) -> None:
        self._webhooks, self._emails, self._budget = webhooks, emails, budget_seconds

    @classmethod
    def from_settings(cls, session_factory: sessionmaker[Session], settings: Settings) -> "FirstAttempt":
        return cls(
            WebhookSender(
                session_factory, settings.webhook_timeout_seconds, settings.sandbox_private_webhook_targets
            ),
            EmailSender(session_factory, settings),
            settings.first_attempt_budget_seconds,
        )

    def deliver(self, items: Sequence[OutboxItem]) -> list[OutboxItem]:
        """Attempts each email and webhook once; returns the items that still need their workflow."""
        deadline = time.monotonic() + self._budget
        left: list[OutboxItem] = []
        for item in items:
            kind, row_id = item
            remaining = deadline - time.monotonic()
            if kind not in ("email", "webhook") or remaining < 1:
                left.append(item)
                continue
            try:
                if kind == "email":
                    self._emails.attempt(row_id, at_most=remaining)
                else:
                    self._webhooks.attempt(row_id, time.time(), at_most=remaining)
            except Undeliverable:
                pass  # settled: recorded as failed or cancelled, nothing to retry
            except Exception:  # NotDeliveredYet, or anything unexpected: the workflow retries
                left.append(item)
        return left
