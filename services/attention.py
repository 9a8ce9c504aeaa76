"""What needs an operator's attention now, for the dashboard's overview: each item a short list of the
objects concerned (newest first) and how many there are in all."""

import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models import (
    ApplicationSession,
    Assignment,
    Bill,
    Certificate,
    CreatorIQCreator,
    TenantResource,
    WebhookDelivery,
    WebhookEndpoint,
)
from domain.application import ENDED
from domain.certificates import CertificateStatus
from domain.payer import Payer
from domain.statuses import AssignmentStatus, BillStatus, CreatorSyncStatus, DeliveryStatus
from services.lookups import scoped
from services.tenancy import Tenant

SHOWN = 10
FAILING_WINDOW = 7 * 86_400


@dataclass
class Concern:
    title: str
    count: int
    rows: list[Any] = field(default_factory=list)


def _concern(session: Session, title: str, query: Any, model: type[TenantResource]) -> Concern:
    count = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    rows = list(session.scalars(query.order_by(model.seq.desc()).limit(SHOWN))) if count else []
    return Concern(title, count, rows)


def needs_attention(session: Session, tenant: Tenant) -> dict[str, Concern]:
    now = int(time.time())
    failing = select(WebhookEndpoint).where(
        WebhookEndpoint.organization_id == tenant.organization_id,
        WebhookEndpoint.environment == tenant.environment,
        WebhookEndpoint.deleted_at.is_(None),
        WebhookEndpoint.id.in_(
            select(WebhookDelivery.endpoint_id).where(
                WebhookDelivery.organization_id == tenant.organization_id,
                WebhookDelivery.environment == tenant.environment,
                WebhookDelivery.status == DeliveryStatus.FAILED,
                WebhookDelivery.created >= now - FAILING_WINDOW,
            )
        ),
    )
    return {
        "applications": _concern(
            session,
            "Applications waiting on the contractor",
            scoped(ApplicationSession, tenant).where(
                ApplicationSession.status.not_in([s.value for s in ENDED])
            ),
            ApplicationSession,
        ),
        "charges_due": _concern(
            session,
            "Card charges due in the next 24 hours",
            scoped(Assignment, tenant).where(
                Assignment.status == AssignmentStatus.PENDING, Assignment.payer == Payer.CARD
            ),
            Assignment,
        ),
        "failed_charges": _concern(
            session,
            "Failed card charges",
            scoped(Assignment, tenant).where(Assignment.status == AssignmentStatus.CHARGE_FAILED),
            Assignment,
        ),
        "increases_owed": _concern(
            session,
            "Premium increases the contractor's card declined (still owed)",
            scoped(Assignment, tenant).where(
                Assignment.status == AssignmentStatus.ACTIVE,
                Assignment.payer == Payer.CARD,
                Assignment.charged < Assignment.premium,
            ),
            Assignment,
        ),
        "refunds_owed": _concern(
            session,
            "Refunds the card processor could not complete (owed back to the contractor)",
            scoped(Assignment, tenant).where(
                Assignment.payer == Payer.CARD, Assignment.charged > Assignment.premium
            ),
            Assignment,
        ),
        "failing_endpoints": _concern(session, "Failing webhook endpoints", failing, WebhookEndpoint),
        "overdue_bills": _concern(
            session, "Overdue bills", scoped(Bill, tenant).where(Bill.status == BillStatus.OVERDUE), Bill
        ),
        "flagged_certificates": _concern(
            session,
            "Certificates flagged for review",
            scoped(Certificate, tenant).where(
                Certificate.status == CertificateStatus.FLAGGED, Certificate.superseded_by.is_(None)
            ),
            Certificate,
        ),
        "sync_failures": _concern(
            session,
            "CreatorIQ sync failures",
            scoped(CreatorIQCreator, tenant).where(CreatorIQCreator.status == CreatorSyncStatus.FAILED),
            CreatorIQCreator,
        ),
    }
