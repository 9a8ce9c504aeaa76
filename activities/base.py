"""What the money activities share: the database, the settings, Stripe and the outbox dispatcher; and
loading the row an activity is about (a missing one is final: retrying will not make it appear)."""

from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.exceptions import ApplicationError

from common.settings import Settings
from db.models import TenantResource
from integrations.stripe_gateway import StripeGateway
from outbox.dispatch import Dispatcher

R = TypeVar("R", bound=TenantResource)


def row_of(session: Session, model: type[R], row_id: str) -> R:
    row = session.scalar(select(model).where(model.id == row_id))
    if row is None:
        raise ApplicationError(f"no {model.ID_KIND.replace('_', ' ')} {row_id}", non_retryable=True)
    return row


class MoneyActivities:
    def __init__(
        self,
        session_factory: sessionmaker[Session],
        settings: Settings,
        gateway: StripeGateway,
        dispatcher: Dispatcher,
    ) -> None:
        self._sessions, self._settings, self._stripe, self._dispatcher = (
            session_factory,
            settings,
            gateway,
            dispatcher,
        )
