"""Starting one durable workflow per committed outbox row, exactly once per row."""

import asyncio
import logging
import time
from collections.abc import Sequence

from anyio import to_thread
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from common.settings import Settings
from db.models import EmailMessage, WebhookDelivery
from outbox.records import OutboxItem
from workflows.messages import (
    EMAIL_DELIVERY_WORKFLOW,
    WEBHOOK_DELIVERY_WORKFLOW,
    EmailRequest,
    WebhookDeliveryRequest,
)

log = logging.getLogger("gigcover.outbox")


def workflow_id(item: OutboxItem) -> str:
    kind, row_id = item
    return f"webhook-delivery-{row_id}" if kind == "webhook" else f"email-{row_id}"


class Dispatcher:
    def __init__(
        self,
        client: Client,
        settings: Settings,
        session_factory: sessionmaker[Session],
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self._client, self._settings, self._sessions, self._loop = client, settings, session_factory, loop

    async def dispatch(self, items: Sequence[OutboxItem]) -> int:
        """Start each item's workflow; a workflow already started counts as dispatched. Returns how many."""
        started: list[OutboxItem] = []
        for item in items:
            try:
                await self._start(item)
            except WorkflowAlreadyStartedError:
                pass
            except Exception:  # Temporal unreachable: the outbox sweep starts it later
                log.warning("could not start %s yet; the outbox sweep will", workflow_id(item), exc_info=True)
                continue
            started.append(item)
        if started:
            await to_thread.run_sync(self._mark_dispatched, started)
        return len(started)

    def dispatch_from_thread(self, items: Sequence[OutboxItem]) -> None:
        """For synchronous code (API routes, activities) running outside the event loop's thread."""
        if not items:
            return
        try:
            asyncio.run_coroutine_threadsafe(self.dispatch(items), self._loop).result(timeout=30)
        except Exception:
            log.warning(
                "dispatching %d outbox items failed; the outbox sweep will", len(items), exc_info=True
            )

    async def dispatch_undispatched(self, older_than_seconds: int) -> int:
        return await self.dispatch(await to_thread.run_sync(self._undispatched, older_than_seconds))

    async def _start(self, item: OutboxItem) -> None:
        kind, row_id = item
        settings = self._settings
        common = {
            "id": workflow_id(item),
            "task_queue": settings.task_queue,
            "id_reuse_policy": WorkflowIDReusePolicy.REJECT_DUPLICATE,
        }
        if kind == "webhook":
            await self._client.start_workflow(
                WEBHOOK_DELIVERY_WORKFLOW,
                WebhookDeliveryRequest(
                    delivery_id=row_id, retry_window_seconds=settings.webhook_retry_window_seconds
                ),
                static_summary=f"Deliver webhook {row_id}",
                **common,
            )
        else:
            await self._client.start_workflow(
                EMAIL_DELIVERY_WORKFLOW,
                EmailRequest(email_id=row_id, retry_window_seconds=settings.email_retry_window_seconds),
                static_summary=f"Send email {row_id}",
                **common,
            )

    def _mark_dispatched(self, items: Sequence[OutboxItem]) -> None:
        webhooks = [row_id for kind, row_id in items if kind == "webhook"]
        emails = [row_id for kind, row_id in items if kind == "email"]
        with self._sessions() as session:
            if webhooks:
                session.execute(
                    update(WebhookDelivery).where(WebhookDelivery.id.in_(webhooks)).values(dispatched=True)
                )
            if emails:
                session.execute(
                    update(EmailMessage).where(EmailMessage.id.in_(emails)).values(dispatched=True)
                )
            session.commit()

    def _undispatched(self, older_than_seconds: int) -> list[OutboxItem]:
        cutoff = int(time.time()) - older_than_seconds
        with self._sessions() as session:
            webhooks = session.scalars(
                select(WebhookDelivery.id)
                .where(WebhookDelivery.dispatched.is_(False), WebhookDelivery.created <= cutoff)
                .limit(500)
            )
            items: list[OutboxItem] = [("webhook", row_id) for row_id in webhooks]
            emails = session.scalars(
                select(EmailMessage.id)
                .where(EmailMessage.dispatched.is_(False), EmailMessage.created <= cutoff)
                .limit(500)
            )
            items += [("email", row_id) for row_id in emails]
        return items
