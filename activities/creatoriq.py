"""Side effects of the CreatorIQ sync: reading CreatorIQ, and turning a decision into contractors, jobs,
quotes and application links (or a failure the organization can read). Each is safe to retry."""

import logging
import time

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from common.settings import Settings
from common.temporal import ORGANIZATION_ID
from contracts.application import EXPIRE, application_workflow_id
from contracts.creatoriq import (
    CREATOR_SYNC_WORKFLOW,
    REQUEST_SYNC,
    ApplySync,
    ConnectionRef,
    CreatorRef,
    FetchedCreator,
    ScanRequest,
    SyncReport,
    SyncRequests,
    creator_workflow_id,
)
from db.models import (
    CreatorIQConnection,
)
from db.pace import shared_pacer
from domain.creatoriq import ACCEPTED
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
from outbox.records import committed_items
from services import creatoriq_sync
from services.creatoriq import connection_of

log = logging.getLogger("gigcover.creatoriq")
KEY_REFUSED = "CreatorIQ refused the organization's API key (403): check it in the CreatorIQ settings"


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
                start_signal=REQUEST_SYNC.name,
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
            await handle.execute_update(EXPIRE.name, result_type=EXPIRE.result_type)
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
        with self._sessions() as session:
            report = creatoriq_sync.apply_sync(session, self._settings, request.creator, request.decision)
            self._dispatcher.dispatch_from_thread(committed_items(session))
            return report
