"""The lifecycle sweep's activity: policies past their expiration date expire, bills past their due date
become overdue (each with its event, and the bill's email), uploaded contractor files never imported are
deleted after ``upload_retention_seconds``; safe to repeat."""

import time

from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity

from common.settings import Settings
from contracts.delivery import LifecycleResult
from documents.issuing import document_store
from outbox.dispatch import Dispatcher
from outbox.records import committed_items
from services.billing import expire_policies, mark_overdue_bills
from services.contractor_import import erase_abandoned_uploads


class LifecycleActivities:
    def __init__(
        self, session_factory: sessionmaker[Session], dispatcher: Dispatcher, settings: Settings
    ) -> None:
        self._sessions, self._dispatcher = session_factory, dispatcher
        self._store, self._upload_seconds = document_store(settings), settings.upload_retention_seconds
        self._base_url = settings.public_base_url

    @activity.defn
    def sweep_lifecycle(self) -> LifecycleResult:
        moment = int(time.time())
        with self._sessions() as session:
            expired = expire_policies(session, moment)
            overdue = mark_overdue_bills(session, moment, base_url=self._base_url)
            self._dispatcher.dispatch_from_thread(committed_items(session))
            deleted = erase_abandoned_uploads(session, self._store, moment, self._upload_seconds)
        return LifecycleResult(
            expired_policies=len(expired), overdue_bills=len(overdue), deleted_uploads=deleted
        )
