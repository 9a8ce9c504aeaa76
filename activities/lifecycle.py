"""The lifecycle sweep's activity: policies past their expiration date expire, bills past their due date
become overdue (each with its event, and the bill's email); safe to repeat."""

import time

from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity

from outbox.dispatch import Dispatcher
from outbox.records import committed_items
from services.billing import expire_policies, mark_overdue_bills
from workflows.messages import LifecycleResult


class LifecycleActivities:
    def __init__(self, session_factory: sessionmaker[Session], dispatcher: Dispatcher) -> None:
        self._sessions, self._dispatcher = session_factory, dispatcher

    @activity.defn
    def sweep_lifecycle(self) -> LifecycleResult:
        moment = int(time.time())
        with self._sessions() as session:
            expired = expire_policies(session, moment)
            overdue = mark_overdue_bills(session, moment)
            self._dispatcher.dispatch_from_thread(committed_items(session))
        return LifecycleResult(expired_policies=len(expired), overdue_bills=len(overdue))
