"""Side effects of the CreatorIQ sync: reading CreatorIQ, and turning a decision into contractors, jobs,
quotes and application links (or a failure the organization can read). Each is safe to retry."""

import hashlib
import json
import logging
import time

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from common import representations as render
from common.settings import Settings
from common.temporal import ORGANIZATION_ID
from db.models import (
    ApplicationSession,
    Contractor,
    CreatorIQConnection,
    CreatorIQCreator,
    Entity,
    Job,
    Organization,
)
from db.organizations import connection_of
from db.pace import shared_pacer
from domain.application import ENDED, Status
from domain.creatoriq import ACCEPTED, SyncOutcome, SyncPlan
from domain.errors import DomainError, invalid
from integrations.creatoriq.client import (
    CreatorIQClient,
    CreatorIQError,
    CreatorIQKeyRefused,
    CreatorIQNotFound,
    CreatorIQUnavailable,
    pace_interval_ms,
)
from integrations.creatoriq.shapes import creator_snapshot, unix_time
from outbox.dispatch import Dispatcher
from outbox.records import committed_items, record_event
from services.applications import SessionIn, email_link, finished_url, open_session
from services.catalog import approved_category
from services.quotes import offer
from services.tenancy import Tenant
from workflows.application_messages import application_workflow_id
from workflows.creatoriq_messages import (
    CREATOR_SYNC_WORKFLOW,
    REQUEST_SYNC_SIGNAL,
    ApplySync,
    ConnectionRef,
    CreatorRef,
    FetchedCreator,
    ScanRequest,
    SyncReport,
    SyncRequests,
    creator_workflow_id,
)

log = logging.getLogger("gigcover.creatoriq")
KEY_REFUSED = "CreatorIQ refused the organization's API key (403): check it in the CreatorIQ settings"


def terms_fingerprint(plan: SyncPlan) -> str:
    """What the application's quote depends on: a change means a new quote and a new link."""
    terms = {
        "pay": plan.pay_cents,
        "work_state": plan.work_state,
        "home_state": plan.address["region"],
        "start": plan.effective_date,
        "end": plan.end_date,
        "withhold": plan.withhold_premium,
    }
    return hashlib.sha256(json.dumps(terms, sort_keys=True).encode()).hexdigest()


class CreatorIQActivities:
    def __init__(
        self, session_factory: sessionmaker[Session], settings: Settings, dispatcher: Dispatcher
    ) -> None:
        self._sessions, self._settings, self._dispatcher = session_factory, settings, dispatcher
        # every worker takes its CreatorIQ request slots from the database, so N workers share 5/s per key
        self._pace = shared_pacer(session_factory, pace_interval_ms(settings.creatoriq_requests_per_second))

    def _client(self, connection: CreatorIQConnection) -> CreatorIQClient:
        return CreatorIQClient.configured(self._settings, connection.api_key, pace=self._pace)

    def _load_connection(self, organization_id: str, environment: str) -> CreatorIQConnection | None:
        with self._sessions() as session:
            connection = connection_of(session, organization_id, environment)
            if connection is not None:
                session.expunge(connection)
            return connection

    @activity.defn
    def fetch_creator(self, creator: CreatorRef) -> FetchedCreator:
        connection = self._load_connection(creator.organization_id, creator.environment)
        if connection is None:
            return FetchedCreator(problem="the organization has no CreatorIQ API key set")
        try:
            with self._client(connection) as client:
                publisher = client.publisher(creator.publisher_id)
                campaign = client.campaign(creator.campaign_id)
                members = client.campaign_publishers(creator.campaign_id, creator.publisher_id)
        except CreatorIQKeyRefused:
            return FetchedCreator(problem=KEY_REFUSED)
        except CreatorIQNotFound:
            return FetchedCreator(
                problem=f"CreatorIQ knows no creator {creator.publisher_id} on campaign {creator.campaign_id}"
            )
        except CreatorIQUnavailable:
            raise  # Temporal retries the activity
        except CreatorIQError as error:
            return FetchedCreator(problem=f"CreatorIQ answered an error: {error}")
        member = next((m for m in members if m["PublisherId"] == creator.publisher_id), None)
        return FetchedCreator(snapshot=creator_snapshot(publisher, campaign, member))

    @activity.defn
    def find_accepted_creators(self, request: ScanRequest) -> list[CreatorRef]:
        """Campaigns that have ended are left out: there is nothing left to cover."""
        connection = self._load_connection(request.organization_id, request.environment)
        if connection is None:
            return []
        found: list[CreatorRef] = []
        now = time.time()
        try:
            with self._client(connection) as client:
                if request.campaign_id is not None:
                    campaign_ids = [request.campaign_id]
                else:
                    campaign_ids = [
                        int(c["Id"])
                        for c in client.campaigns()
                        if (unix_time(c.get("EndDate")) or now + 1) > now
                    ]
                for campaign_id in campaign_ids:
                    activity.heartbeat(campaign_id)
                    for member in client.campaign_publishers(campaign_id, request.publisher_id):
                        if member.get("Status") == ACCEPTED:
                            found.append(
                                CreatorRef(
                                    organization_id=request.organization_id,
                                    environment=request.environment,
                                    campaign_id=campaign_id,
                                    publisher_id=member["PublisherId"],
                                )
                            )
        except (CreatorIQKeyRefused, CreatorIQNotFound) as error:
            log.warning("CreatorIQ scan for %s stopped: %s", request.organization_id, error)
        return found

    @activity.defn
    async def request_syncs(self, requests: SyncRequests) -> None:
        """Signal each creator's sync, starting it if it is not running (signal-with-start)."""
        for creator in requests.creators:
            await self._dispatcher.client.start_workflow(
                CREATOR_SYNC_WORKFLOW,
                creator,
                id=creator_workflow_id(creator),
                task_queue=self._settings.task_queue,
                start_signal=REQUEST_SYNC_SIGNAL,
                start_signal_args=[requests.trigger],
                static_summary=f"CreatorIQ creator {creator.publisher_id} on campaign {creator.campaign_id}",
                search_attributes=TypedSearchAttributes(
                    [SearchAttributePair(ORGANIZATION_ID, creator.organization_id)]
                ),
            )

    @activity.defn
    async def expire_application(self, session_id: str) -> None:
        handle = self._dispatcher.client.get_workflow_handle(application_workflow_id(session_id))
        try:
            await handle.execute_update("expire")
        except Exception as error:  # it ended on its own (completed, expired) in the meantime: nothing to do
            log.info("application %s was not expired: %s", session_id, error)

    @activity.defn
    def connections_to_poll(self) -> list[ConnectionRef]:
        with self._sessions() as session:
            rows = session.scalars(
                select(CreatorIQConnection).where(
                    CreatorIQConnection.deleted_at.is_(None),
                    CreatorIQConnection.webhooks_subscribed.is_(False),
                )
            ).all()
            for row in rows:
                row.last_polled_at = int(time.time())
            session.commit()
            return [ConnectionRef(organization_id=r.organization_id, environment=r.environment) for r in rows]

    @activity.defn
    def apply_sync(self, request: ApplySync) -> SyncReport:
        creator, decision = request.creator, request.decision
        with self._sessions() as session:
            record = self._record(session, creator)
            record_id = record.id
            if decision.outcome is SyncOutcome.READY:
                assert decision.plan is not None
                before = record.application_session_id
                try:
                    superseded = self._apply_plan(session, creator, record, decision.plan)
                    opened = record.application_session_id != before
                    return self._finish(session, record, "synced", [], superseded, opened)
                except DomainError as refused:
                    session.rollback()
                    reread = session.scalar(select(CreatorIQCreator).where(CreatorIQCreator.id == record_id))
                    assert reread is not None
                    return self._finish(session, reread, "failed", [refused.message], None)
            return self._finish(session, record, decision.outcome.value, list(decision.reasons), None)

    def _record(self, session: Session, creator: CreatorRef) -> CreatorIQCreator:
        query = select(CreatorIQCreator).where(
            CreatorIQCreator.organization_id == creator.organization_id,
            CreatorIQCreator.environment == creator.environment,
            CreatorIQCreator.campaign_id == creator.campaign_id,
            CreatorIQCreator.publisher_id == creator.publisher_id,
        )
        record = session.scalar(query)
        if record is None:
            record = CreatorIQCreator.new(
                creator,
                campaign_id=creator.campaign_id,
                publisher_id=creator.publisher_id,
                status="pending",
                reasons=[],
                sync_count=0,
            )
            session.add(record)
            session.commit()
        return record

    def _finish(
        self,
        session: Session,
        record: CreatorIQCreator,
        status: str,
        reasons: list[str],
        superseded: str | None,
        opened: bool = False,
    ) -> SyncReport:
        """Stores the outcome (synced, failed or skipped); an event is published when the outcome changed
        (not for every repeat)."""
        changed = (record.status, list(record.reasons or [])) != (status, reasons) or opened
        record.status, record.reasons = status, reasons
        record.sync_count += 1
        record.last_synced_at = int(time.time())
        if changed and status in ("synced", "failed"):
            application = self._application(session, record)
            record_event(
                session,
                record.organization_id,
                record.environment,
                "creatoriq.creator_synced" if status == "synced" else "creatoriq.sync_failed",
                render.creatoriq_creator(record, application, self._settings.public_base_url),
            )
        session.commit()
        self._dispatcher.dispatch_from_thread(committed_items(session))
        return SyncReport(
            record_id=record.id,
            status=status,
            reasons=reasons,
            contractor_id=record.contractor_id,
            application_session_id=record.application_session_id,
            superseded_session_id=superseded,
        )

    @staticmethod
    def _application(session: Session, record: CreatorIQCreator) -> ApplicationSession | None:
        if record.application_session_id is None:
            return None
        return session.scalar(
            select(ApplicationSession).where(ApplicationSession.id == record.application_session_id)
        )

    def _apply_plan(
        self, session: Session, creator: CreatorRef, record: CreatorIQCreator, plan: SyncPlan
    ) -> str | None:
        """Creates or updates the contractor and the job; opens an application (and emails its link) when
        there is none, or when the terms changed before it was completed. Returns the application that the
        new one replaces, if any. Raises ApiError with a readable message when the data cannot be used."""
        organization = session.get(Organization, creator.organization_id)
        connection = connection_of(session, creator.organization_id, creator.environment)
        if organization is None or connection is None:
            raise invalid("the organization has no CreatorIQ API key set", code="creatoriq_not_configured")
        tenant = Tenant(organization, creator.environment)
        contractor, email_changed = self._contractor(session, tenant, record, plan)
        job = self._job(session, tenant, connection, record, plan)
        session.flush()
        application = self._application(session, record)
        fingerprint = terms_fingerprint(plan)
        renewing = application is None or application.status in (Status.EXPIRED, Status.INELIGIBLE)
        repricing = (
            application is not None
            and application.status not in ENDED
            and fingerprint != record.terms_fingerprint
        )
        if not (renewing or repricing):
            if email_changed and application is not None and application.status not in ENDED:
                email_link(session, tenant, application, self._settings)  # the link goes to the new address
            return None
        coverage = connection.coverage_type
        quote = offer(session, tenant, contractor, job, plan.effective_date, plan.end_date, coverage)
        if not quote.eligible:
            raise invalid(
                f"the creator cannot be insured: {quote.eligibility_message}", code="quote_not_eligible"
            )
        session.add(quote)
        session.flush()
        default_url = finished_url(self._settings)
        opened = open_session(
            session,
            tenant,
            SessionIn(
                quote=quote.id,
                success_url=connection.success_url or default_url,
                cancel_url=connection.cancel_url or default_url,
                send_email=True,
            ),
            self._settings,
        )
        record.quote_id, record.application_session_id = quote.id, opened.id
        record.terms_fingerprint = fingerprint
        return application.id if repricing and application is not None else None

    @staticmethod
    def _contractor(
        session: Session, tenant: Tenant, record: CreatorIQCreator, plan: SyncPlan
    ) -> tuple[Contractor, bool]:
        """The creator's contractor: the one this creator became before, else the one with this email
        (a repeat creator), else a new one."""
        by_email = session.scalar(
            select(Contractor).where(
                Contractor.organization_id == tenant.organization_id,
                Contractor.environment == tenant.environment,
                Contractor.deleted_at.is_(None),
                func.lower(Contractor.email) == plan.email.lower(),
            )
        )
        contractor = None
        if record.contractor_id is not None:
            contractor = session.scalar(select(Contractor).where(Contractor.id == record.contractor_id))
            if contractor is not None and contractor.deleted_at is not None:
                contractor = None
        if contractor is None:
            contractor = by_email
        elif by_email is not None and by_email.id != contractor.id:
            raise invalid(
                f"the creator's new email {plan.email} belongs to another contractor ({by_email.id})",
                "email",
                "duplicate_email",
            )
        email_changed = contractor is not None and contractor.email.lower() != plan.email.lower()
        if contractor is None:
            contractor = Contractor.new(
                tenant,
                phone="",
                custom_metadata={},
            )
        contractor.first_name, contractor.last_name, contractor.email = (
            plan.first_name[:100],
            plan.last_name[:100],
            plan.email,
        )
        contractor.address = {**(contractor.address or {}), **plan.address, "country": "US"}
        contractor.custom_metadata = {
            **(contractor.custom_metadata or {}),
            "creatoriq_publisher_id": str(record.publisher_id),
        }
        session.add(contractor)
        record.contractor_id = contractor.id
        return contractor, email_changed

    def _job(
        self,
        session: Session,
        tenant: Tenant,
        connection: CreatorIQConnection,
        record: CreatorIQCreator,
        plan: SyncPlan,
    ) -> Job:
        """One job per creator on a campaign: the campaign's name and dates, the creator's pay."""
        category = approved_category(session, tenant, connection.category_code)
        job = session.scalar(select(Job).where(Job.id == record.job_id)) if record.job_id else None
        if job is None:
            job = Job.new(
                tenant,
                entity_id=self._entity(session, tenant, connection).id,
                custom_metadata={},
            )
        job.category_id = category.id
        job.name, job.description = plan.job_name[:200], plan.job_description[:5000]
        job.wage, job.wage_type = plan.pay_cents, "flatfee"
        job.address = {"region": plan.work_state}
        job.withhold_premium = plan.withhold_premium
        purchase_order = {
            "purchase_order_number": plan.purchase_order_number,
            "po_contact_name": plan.po_contact_name,
            "po_contact_email": plan.po_contact_email,
        }
        job.custom_metadata = {
            **{k: v for k, v in (job.custom_metadata or {}).items() if k not in purchase_order},
            **{k: v for k, v in purchase_order.items() if v},
            "creatoriq_campaign_id": str(record.campaign_id),
            "creatoriq_publisher_id": str(record.publisher_id),
        }
        session.add(job)
        record.job_id = job.id
        return job

    @staticmethod
    def _entity(session: Session, tenant: Tenant, connection: CreatorIQConnection) -> Entity:
        """The hiring entity of CreatorIQ jobs: the connection's, made on first use from the organization."""
        if connection.entity_id:
            entity = session.scalar(select(Entity).where(Entity.id == connection.entity_id))
            if entity is not None and entity.deleted_at is None:
                return entity
        entity = Entity.new(
            tenant,
            name=tenant.organization.name[:200],
            address=tenant.organization.billing_address,
            coverage_limit=None,
            required_coverage=None,
        )
        session.add(entity)
        connection.entity_id = entity.id
        return entity
