"""The business numbers ops page on, read from the database when Prometheus scrapes (never cached, never
per request): assignments in their notice window, failed charges, failing webhook deliveries per endpoint,
failing emails, overdue bills and CreatorIQ sync failures, by environment. Every count is one GROUP BY
on an index that starts with the status it filters on (migrations 0007 and 0011); no organization names
or personal data become labels."""

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from db.models import Assignment, Bill, CreatorIQCreator, EmailMessage, WebhookDelivery
from domain.payer import Payer
from domain.statuses import (
    AssignmentStatus,
    BillStatus,
    CreatorSyncStatus,
    DeliveryStatus,
    EmailStatus,
)


def _gauge(
    name: str, documentation: str, labels: list[str], rows: Iterable[Sequence[Any]]
) -> GaugeMetricFamily:
    """``rows``: the labels' values, then the count."""
    family = GaugeMetricFamily(name, documentation, labels=labels)
    for *values, count in rows:
        family.add_metric([str(v) for v in values], count)
    return family


class BusinessCollector(Collector):
    """``session_factory`` is called at each scrape (the API makes its factory only once it starts)."""

    def __init__(self, session_factory: Callable[[], sessionmaker[Session]]) -> None:
        self.session_factory = session_factory

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self.session_factory()() as session:
            yield _gauge(
                "gigcover_assignments_in_notice_window",
                "Card-paid assignments waiting for their charge (the notice window)",
                ["environment"],
                session.execute(
                    select(Assignment.environment, func.count())
                    .where(Assignment.status == AssignmentStatus.PENDING, Assignment.payer == Payer.CARD)
                    .group_by(Assignment.environment)
                ),
            )
            yield _gauge(
                "gigcover_assignment_charges_failed",
                "Assignments whose card charge failed and waits for a new card",
                ["environment"],
                session.execute(
                    select(Assignment.environment, func.count())
                    .where(Assignment.status == AssignmentStatus.CHARGE_FAILED)
                    .group_by(Assignment.environment)
                ),
            )
            yield _gauge(
                "gigcover_webhook_deliveries_failed",
                "Webhook deliveries that gave up, per endpoint",
                ["environment", "endpoint_id"],
                session.execute(
                    select(WebhookDelivery.environment, WebhookDelivery.endpoint_id, func.count())
                    .where(WebhookDelivery.status == DeliveryStatus.FAILED)
                    .group_by(WebhookDelivery.environment, WebhookDelivery.endpoint_id)
                ),
            )
            yield _gauge(
                "gigcover_emails_failed",
                "Emails that could not be sent",
                ["environment"],
                session.execute(
                    select(EmailMessage.environment, func.count())
                    .where(EmailMessage.status == EmailStatus.FAILED)
                    .group_by(EmailMessage.environment)
                ),
            )
            yield _gauge(
                "gigcover_bills_overdue",
                "Bills past their due date and not paid",
                ["environment"],
                session.execute(
                    select(Bill.environment, func.count())
                    .where(Bill.status == BillStatus.OVERDUE)
                    .group_by(Bill.environment)
                ),
            )
            yield _gauge(
                "gigcover_creatoriq_sync_failures",
                "CreatorIQ creators whose last sync failed",
                ["environment"],
                session.execute(
                    select(CreatorIQCreator.environment, func.count())
                    .where(CreatorIQCreator.status == CreatorSyncStatus.FAILED)
                    .group_by(CreatorIQCreator.environment)
                ),
            )
