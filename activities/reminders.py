"""The reminder sweep's activity: email every contractor whose unfinished application is due a reminder at
the sweep's moment. Each reminder is its own transaction, recorded once per application and day, so a
retried sweep (a worker that died half way) sends only what it had not sent."""

from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity

from common.settings import Settings
from contracts.reminders import ReminderReport, ReminderSweep
from outbox.dispatch import Dispatcher
from outbox.records import committed_items
from services import application_reminders


class ReminderActivities:
    def __init__(
        self, session_factory: sessionmaker[Session], settings: Settings, dispatcher: Dispatcher
    ) -> None:
        self._sessions, self._settings, self._dispatcher = session_factory, settings, dispatcher

    @activity.defn
    def send_application_reminders(self, sweep: ReminderSweep) -> ReminderReport:
        with self._sessions() as session:
            candidates = application_reminders.applications_to_look_at(session, sweep.at)
            session.commit()  # only read: no transaction stays open across the reminders
        sent = 0
        for session_id in candidates:
            with self._sessions() as session:
                if application_reminders.remind(session, self._settings, session_id, sweep.at):
                    sent += 1
                self._dispatcher.dispatch_from_thread(committed_items(session))
            activity.heartbeat(session_id)
        return ReminderReport(looked_at=len(candidates), sent=sent, at=sweep.at)
