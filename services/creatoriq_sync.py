"""A CreatorIQ creator's sync, applied: the contractor (by the same duplicate-email rule as every contractor),
the job and its hiring entity, the quote and the application link, or the reason it could not be done.
Called by the sync workflow's activity (activities/creatoriq.py), which reads CreatorIQ."""

import hashlib
import json
import time

from sqlalchemy import select
from sqlalchemy.orm import Session

from common.settings import Settings
from contracts.creatoriq import CreatorRef, SyncReport
from db.models import (
    ApplicationSession,
    Contractor,
    CreatorIQConnection,
    CreatorIQCreator,
    Entity,
    Job,
    Organization,
)
from domain.application import ENDED, Status
from domain.creatoriq import SyncDecision, SyncOutcome, SyncPlan
from domain.errors import DomainError, invalid
from domain.statuses import CreatorSyncStatus
from outbox.records import record_event
from services import representations as render
from services.applications import SessionIn, email_link, finished_url, open_session
from services.catalog import approved_category
from services.contractors import contractor_with_email, refuse_duplicate_email
from services.creatoriq import connection_of
from services.quotes import offer
from services.tenancy import Tenant


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


def apply_sync(
    session: Session, settings: Settings, creator: CreatorRef, decision: SyncDecision
) -> SyncReport:
    """Turn a sync decision into the creator's contractor, job, quote and application link (READY), or record
    why it could not be (failed, skipped); each outcome committed, with an event when it changed."""
    record = _record(session, creator)
    record_id = record.id
    if decision.outcome is SyncOutcome.READY:
        assert decision.plan is not None
        before = record.application_session_id
        try:
            superseded = _apply_plan(session, settings, creator, record, decision.plan)
            opened = record.application_session_id != before
            return _finish(session, settings, record, CreatorSyncStatus.SYNCED, [], superseded, opened)
        except DomainError as refused:
            session.rollback()
            reread = session.scalar(select(CreatorIQCreator).where(CreatorIQCreator.id == record_id))
            assert reread is not None
            return _finish(session, settings, reread, CreatorSyncStatus.FAILED, [refused.message], None)
    stored = CreatorSyncStatus(decision.outcome.value)  # skipped or failed
    return _finish(session, settings, record, stored, list(decision.reasons), None)


def _record(session: Session, creator: CreatorRef) -> CreatorIQCreator:
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
            status=CreatorSyncStatus.PENDING,
            reasons=[],
            sync_count=0,
        )
        session.add(record)
        session.commit()
    return record


def _finish(
    session: Session,
    settings: Settings,
    record: CreatorIQCreator,
    status: CreatorSyncStatus,
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
    if changed and status in (CreatorSyncStatus.SYNCED, CreatorSyncStatus.FAILED):
        application = _application(session, record)
        record_event(
            session,
            record.organization_id,
            record.environment,
            "creatoriq.creator_synced" if status == CreatorSyncStatus.SYNCED else "creatoriq.sync_failed",
            render.creatoriq_creator(record, application, settings.public_base_url),
        )
    session.commit()
    return SyncReport(
        record_id=record.id,
        status=status,
        reasons=reasons,
        contractor_id=record.contractor_id,
        application_session_id=record.application_session_id,
        superseded_session_id=superseded,
    )


def _application(session: Session, record: CreatorIQCreator) -> ApplicationSession | None:
    if record.application_session_id is None:
        return None
    return session.scalar(
        select(ApplicationSession).where(ApplicationSession.id == record.application_session_id)
    )


def _apply_plan(
    session: Session, settings: Settings, creator: CreatorRef, record: CreatorIQCreator, plan: SyncPlan
) -> str | None:
    """Creates or updates the contractor and the job; opens an application (and emails its link) when
    there is none, or when the terms changed before it was completed. Returns the application that the
    new one replaces, if any. Raises DomainError with a readable message when the data cannot be used."""
    organization = session.get(Organization, creator.organization_id)
    connection = connection_of(session, creator.organization_id, creator.environment)
    if organization is None or connection is None:
        raise invalid("the organization has no CreatorIQ API key set", code="creatoriq_not_configured")
    tenant = Tenant(organization, creator.environment)
    contractor, email_changed = _contractor(session, tenant, record, plan)
    job = _job(session, tenant, connection, record, plan)
    session.flush()
    application = _application(session, record)
    fingerprint = terms_fingerprint(plan)
    renewing = application is None or application.status in (Status.EXPIRED, Status.INELIGIBLE)
    repricing = (
        application is not None
        and application.status not in ENDED
        and fingerprint != record.terms_fingerprint
    )
    if not (renewing or repricing):
        if email_changed and application is not None and application.status not in ENDED:
            email_link(session, tenant, application, settings)  # the link goes to the new address
        return None
    coverage = connection.coverage_type
    quote = offer(session, tenant, contractor, job, plan.effective_date, plan.end_date, coverage)
    if not quote.eligible:
        raise invalid(
            f"the creator cannot be insured: {quote.eligibility_message}", code="quote_not_eligible"
        )
    session.add(quote)
    session.flush()
    default_url = finished_url(settings)
    opened = open_session(
        session,
        tenant,
        SessionIn(
            quote=quote.id,
            success_url=connection.success_url or default_url,
            cancel_url=connection.cancel_url or default_url,
            send_email=True,
        ),
        settings,
    )
    record.quote_id, record.application_session_id = quote.id, opened.id
    record.terms_fingerprint = fingerprint
    return application.id if repricing and application is not None else None


def _contractor(
    session: Session, tenant: Tenant, record: CreatorIQCreator, plan: SyncPlan
) -> tuple[Contractor, bool]:
    """The creator's contractor: the one this creator became before, else the one with this email
    (a repeat creator), else a new one."""
    by_email = contractor_with_email(session, tenant, plan.email)
    contractor = None
    if record.contractor_id is not None:
        contractor = session.scalar(select(Contractor).where(Contractor.id == record.contractor_id))
        if contractor is not None and contractor.deleted_at is not None:
            contractor = None
    if contractor is None:
        contractor = by_email
    else:
        refuse_duplicate_email(session, tenant, plan.email, contractor.id)  # the new email is another's
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
            entity_id=_entity(session, tenant, connection).id,
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
