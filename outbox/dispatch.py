"""Starting one durable workflow per committed outbox row, exactly once per row."""

import asyncio
import contextlib
import logging
import time
from collections.abc import Coroutine, Sequence
from typing import Any, TypedDict, TypeVar

from anyio import to_thread
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from common.settings import Settings
from common.temporal import (
    ASSIGNMENT_ID,
    CONTRACTOR_ID,
    ORGANIZATION_ID,
    PAYMENT_STAGE,
    SESSION_ID,
    STEP,
    UPDATE_TIMEOUT_SECONDS,
)
from contracts.application import (
    APPLICATION_WORKFLOW,
    ApplicationInput,
    application_workflow_id,
)
from contracts.assignment import (
    ADJUST,
    ASSIGNMENT_WORKFLOW,
    CARD_UPDATED,
    COVERED,
    AssignmentInput,
    Coverage,
    InvoiceAdjustment,
    NewCard,
    assignment_workflow_id,
)
from contracts.certificates import (
    CERTIFICATE_REVIEW_WORKFLOW,
    SUPERSEDED,
    CertificateReviewRequest,
    certificate_workflow_id,
)
from contracts.delivery import (
    EMAIL_DELIVERY_WORKFLOW,
    WEBHOOK_DELIVERY_WORKFLOW,
    EmailRequest,
    WebhookDeliveryRequest,
    email_workflow_id,
    webhook_delivery_workflow_id,
)
from db.models import (
    ApplicationSession,
    Assignment,
    CardUpdate,
    Certificate,
    EmailMessage,
    PremiumAdjustment,
    TenantResource,
    WebhookDelivery,
)
from domain.statuses import PaymentStage
from outbox.records import OutboxItem, OutboxKind
from outbox.senders import FirstAttempt

log = logging.getLogger("gigcover.outbox")
R = TypeVar("R", bound=TenantResource)
T = TypeVar("T")


WORKFLOW_IDS = {
    "webhook": webhook_delivery_workflow_id,
    "email": email_workflow_id,
    "application": application_workflow_id,
    "assignment": assignment_workflow_id,
    "certificate": certificate_workflow_id,
}
# An API request waits UPDATE_TIMEOUT_SECONDS for its Update; an adjustment still unsent twice that long
# after its commit lost its sender.
ADJUSTMENT_GRACE_SECONDS = int(2 * UPDATE_TIMEOUT_SECONDS)
MODELS: dict[
    OutboxKind, type[WebhookDelivery | EmailMessage | ApplicationSession | Assignment | Certificate]
] = {
    "webhook": WebhookDelivery,
    "email": EmailMessage,
    "application": ApplicationSession,
    "assignment": Assignment,
    "certificate": Certificate,
}


class _StartOptions(TypedDict, total=False):
    """What every workflow the outbox starts is started with."""

    id: str
    task_queue: str
    id_reuse_policy: WorkflowIDReusePolicy
    search_attributes: TypedSearchAttributes


def workflow_id(item: OutboxItem) -> str:
    kind, row_id = item
    return WORKFLOW_IDS[kind](row_id)


def assignment_input(row: Assignment, settings: Settings) -> AssignmentInput:
    return AssignmentInput(
        assignment_id=row.id,
        organization_id=row.organization_id,
        environment=row.environment,
        contractor_id=row.contractor_id,
        coverage_path=row.coverage_path,
        payer=row.payer,
        premium=row.premium,
        notice_seconds=settings.assignment_notice_seconds,
        ends_at=row.end_date,
    )


def application_input(row: ApplicationSession, settings: Settings) -> ApplicationInput:
    return ApplicationInput(
        session_id=row.id,
        organization_id=row.organization_id,
        environment=row.environment,
        contractor_id=row.contractor_id,
        quote_id=row.quote_id,
        is_general_opt_in=row.is_general_opt_in,
        work_state=row.work_state,
        premium=row.premium,
        withhold_premium=row.withhold_premium,
        lifetime_seconds=max(row.expires_at - row.created, 1),
        success_url=row.success_url,
        cancel_url=row.cancel_url,
    )


class Dispatcher:
    def __init__(
        self,
        client: Client,
        settings: Settings,
        session_factory: sessionmaker[Session],
        loop: asyncio.AbstractEventLoop,
        first_attempt: FirstAttempt | None = None,
    ) -> None:
        """``first_attempt``: deliver new emails and webhooks at once, starting workflows only for those
        that fail (the worker's choice; the API leaves delivery to workflows, off its request path)."""
        self._client, self._settings, self._sessions, self._loop = client, settings, session_factory, loop
        self._first_attempt = first_attempt
        self._search_attributes: bool | None = None

    @property
    def client(self) -> Client:
        return self._client

    def run_from_thread(self, coroutine: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        """Runs a Temporal client call on the worker's (or API's) event loop, from a sync thread."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=timeout)

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
        if self._first_attempt is not None:
            items = self._first_attempt.deliver(items)
        if not items:
            return
        try:
            asyncio.run_coroutine_threadsafe(self.dispatch(items), self._loop).result(timeout=30)
        except Exception:
            log.warning(
                "dispatching %d outbox items failed; the outbox sweep will", len(items), exc_info=True
            )

    async def dispatch_undispatched(self, older_than_seconds: int) -> int:
        started = await self.dispatch(await to_thread.run_sync(self._undispatched, older_than_seconds))
        grace = max(older_than_seconds, ADJUSTMENT_GRACE_SECONDS)
        return started + await self._resend_adjustments(grace) + await self._resend_card_updates(grace)

    async def _resend_adjustments(self, older_than_seconds: int) -> int:
        """Sends the premium adjustments whose API request died between its commit and its Update, oldest
        first; the workflow takes each once and ignores any a newer one has overtaken. Returns how many."""
        sent: list[int] = []
        for row in await to_thread.run_sync(self._unsent_adjustments, older_than_seconds):
            handle = self._client.get_workflow_handle(workflow_id(("assignment", row.assignment_id)))
            adjustment = InvoiceAdjustment(invoice_id=row.invoice_key, premium=row.premium, sequence=row.id)
            try:
                await asyncio.wait_for(
                    handle.execute_update(ADJUST.name, adjustment, result_type=ADJUST.result_type),
                    UPDATE_TIMEOUT_SECONDS,
                )
            except WorkflowUpdateFailedError as refused:
                log.warning("assignment %s refused adjustment %d: %s", row.assignment_id, row.id, refused)
            except RPCError as error:
                started = await to_thread.run_sync(self._load, Assignment, row.assignment_id)
                if error.status != RPCStatusCode.NOT_FOUND or not started.dispatched:
                    continue  # Temporal unreachable, or the workflow not started yet: the next sweep
                log.warning("assignment %s ended before premium adjustment %d", row.assignment_id, row.id)
            except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
                continue  # still running (a slow processor): the next sweep sends it again, a no-op then
            sent.append(row.id)
        if sent:
            await to_thread.run_sync(self._mark_adjustments_sent, sent)
        return len(sent)

    async def _resend_card_updates(self, older_than_seconds: int) -> int:
        """Tells each assignment the new card its request could not (services/portal.py replace_card); one
        that ended has nothing to retry, one not started yet waits for the next sweep. Returns how many."""
        sent: list[int] = []
        for row in await to_thread.run_sync(self._unsent_card_updates, older_than_seconds):
            handle = self._client.get_workflow_handle(workflow_id(("assignment", row.assignment_id)))
            try:
                await asyncio.wait_for(
                    handle.signal(CARD_UPDATED.name, NewCard(payment_method_id=row.payment_method_id)),
                    UPDATE_TIMEOUT_SECONDS,
                )
            except TimeoutError:
                continue  # Temporal slow to answer: the next sweep
            except RPCError as error:
                started = await to_thread.run_sync(self._load, Assignment, row.assignment_id)
                if error.status != RPCStatusCode.NOT_FOUND or not started.dispatched:
                    continue  # Temporal unreachable, or the workflow not started yet: the next sweep
                log.warning("assignment %s ended before card update %d", row.assignment_id, row.id)
            sent.append(row.id)
        if sent:
            await to_thread.run_sync(self._mark_card_updates_sent, sent)
        return len(sent)

    def _unsent_card_updates(self, older_than_seconds: int) -> list[CardUpdate]:
        cutoff = int(time.time()) - older_than_seconds
        with self._sessions() as session:
            query = (
                select(CardUpdate)
                .where(CardUpdate.dispatched.is_(False), CardUpdate.created <= cutoff)
                .order_by(CardUpdate.id)
                .limit(500)
            )
            return list(session.scalars(query))

    def _mark_card_updates_sent(self, ids: list[int]) -> None:
        with self._sessions() as session:
            session.execute(update(CardUpdate).where(CardUpdate.id.in_(ids)).values(dispatched=True))
            session.commit()

    async def _start(self, item: OutboxItem) -> None:
        kind, row_id = item
        settings = self._settings
        common: _StartOptions = {
            "id": workflow_id(item),
            "task_queue": settings.task_queue,
            "id_reuse_policy": WorkflowIDReusePolicy.REJECT_DUPLICATE,
        }
        if kind == "assignment":
            await self._start_assignment(await to_thread.run_sync(self._load, Assignment, row_id))
        elif kind == "application":
            row = await to_thread.run_sync(self._load, ApplicationSession, row_id)
            if await self._has_search_attributes():
                common["search_attributes"] = TypedSearchAttributes(
                    [
                        SearchAttributePair(ORGANIZATION_ID, row.organization_id),
                        SearchAttributePair(CONTRACTOR_ID, row.contractor_id),
                        SearchAttributePair(SESSION_ID, row.id),
                        SearchAttributePair(STEP, row.step),
                    ]
                )
            await self._client.start_workflow(
                APPLICATION_WORKFLOW,
                application_input(row, settings),
                static_summary=f"Insurance application {row_id}",
                static_details=f"Contractor {row.contractor_id} · quote {row.quote_id or 'general opt-in'}",
                **common,
            )
        elif kind == "certificate":
            await self._start_certificate(row_id, common)
        elif kind == "webhook":
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

    async def _start_certificate(self, certificate_id: str, common: _StartOptions) -> None:
        """The certificates this upload replaced hear it first (their reminders stop; one that ended
        already needs nothing), then this one's review starts. A failure leaves the row undispatched, so
        the sweep does both again: a second SUPERSEDED is a no-op."""
        replaced = await to_thread.run_sync(self._superseded_by, certificate_id)
        for old_id in replaced:
            try:
                await self._client.get_workflow_handle(certificate_workflow_id(old_id)).signal(
                    SUPERSEDED.name, certificate_id
                )
            except RPCError as error:
                if error.status != RPCStatusCode.NOT_FOUND:
                    raise
        await self._client.start_workflow(
            CERTIFICATE_REVIEW_WORKFLOW,
            CertificateReviewRequest(certificate_id=certificate_id),
            static_summary=f"Review certificate {certificate_id}",
            **common,
        )

    def _superseded_by(self, certificate_id: str) -> list[str]:
        with self._sessions() as session:
            return list(
                session.scalars(select(Certificate.id).where(Certificate.superseded_by == certificate_id))
            )

    async def _start_assignment(self, row: Assignment, **signal: Any) -> None:
        attributes = TypedSearchAttributes(
            [
                SearchAttributePair(ORGANIZATION_ID, row.organization_id),
                SearchAttributePair(CONTRACTOR_ID, row.contractor_id),
                SearchAttributePair(ASSIGNMENT_ID, row.id),
                SearchAttributePair(PAYMENT_STAGE, PaymentStage.PENDING),
            ]
        )
        options: dict[str, Any] = {
            "id": workflow_id(("assignment", row.id)),
            "task_queue": self._settings.task_queue,
            "id_reuse_policy": WorkflowIDReusePolicy.REJECT_DUPLICATE,
            "static_summary": f"Assignment {row.id} ({row.payer}, {row.coverage_path})",
            "static_details": f"Contractor {row.contractor_id}, job {row.job_id}, premium {row.premium}c",
            **signal,
        }
        if await self._has_search_attributes():
            options["search_attributes"] = attributes
        await self._client.start_workflow(
            ASSIGNMENT_WORKFLOW, assignment_input(row, self._settings), **options
        )

    async def _has_search_attributes(self) -> bool:
        """Whether the server knows our search attributes (make run's and compose's do; Temporal's
        time-skipping test server does not). Without them the workflow runs all the same: only ops cannot
        filter by them."""
        if self._search_attributes is None:
            try:
                known = await self._client.operator_service.list_search_attributes(
                    ListSearchAttributesRequest(namespace=self._client.namespace)
                )
                self._search_attributes = PAYMENT_STAGE.name in known.custom_attributes
            except RPCError:
                self._search_attributes = False
            if not self._search_attributes:
                log.warning("the Temporal server lacks our search attributes: workflows start without them")
        return self._search_attributes

    async def hand_over(self, row: Assignment, coverage: Coverage) -> bool:
        """Give the assignment's workflow what its application collected, starting the workflow first if it
        is not running yet. False when it has ended already (it was cancelled before)."""
        with contextlib.suppress(WorkflowAlreadyStartedError):
            await self._start_assignment(row)
        handed: OutboxItem = ("assignment", row.id)
        await to_thread.run_sync(self._mark_dispatched, [handed])
        try:
            await self._client.get_workflow_handle(workflow_id(("assignment", row.id))).signal(
                COVERED.name, coverage
            )
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND:
                raise
            return False
        return True

    def _load(self, model: type[R], row_id: str) -> R:
        with self._sessions() as session:
            row = session.scalar(select(model).where(model.id == row_id))
            assert row is not None, f"no {model.__tablename__} row {row_id}"
            return row

    def _mark_dispatched(self, items: Sequence[OutboxItem]) -> None:
        with self._sessions() as session:
            for kind, model in MODELS.items():
                ids = [row_id for item_kind, row_id in items if item_kind == kind]
                if ids:
                    session.execute(update(model).where(model.id.in_(ids)).values(dispatched=True))
            session.commit()

    def _unsent_adjustments(self, older_than_seconds: int) -> list[PremiumAdjustment]:
        cutoff = int(time.time()) - older_than_seconds
        with self._sessions() as session:
            query = (
                select(PremiumAdjustment)
                .where(PremiumAdjustment.dispatched.is_(False), PremiumAdjustment.created <= cutoff)
                .order_by(PremiumAdjustment.id)
                .limit(500)
            )
            return list(session.scalars(query))

    def _mark_adjustments_sent(self, ids: list[int]) -> None:
        with self._sessions() as session:
            session.execute(
                update(PremiumAdjustment).where(PremiumAdjustment.id.in_(ids)).values(dispatched=True)
            )
            session.commit()

    def _undispatched(self, older_than_seconds: int) -> list[OutboxItem]:
        cutoff = int(time.time()) - older_than_seconds
        items: list[OutboxItem] = []
        with self._sessions() as session:
            for kind, model in MODELS.items():
                query = (
                    select(model.id).where(model.dispatched.is_(False), model.created <= cutoff).limit(500)
                )
                items += [(kind, row_id) for row_id in session.scalars(query)]
        return items
