"""Tenant-scoped reads every front and operation shares: one object (or a 404-kind refusal), and pages of
them. Another organization's or environment's object does not exist for the caller."""

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from db.models import (
    ApplicationSession,
    Assignment,
    Bill,
    Contractor,
    CreatorIQCreator,
    Document,
    EmailMessage,
    Entity,
    Invoice,
    Job,
    Policy,
    Quote,
    TenantResource,
    WebhookEndpoint,
)
from domain.errors import invalid, not_found
from services.tenancy import Tenant

R = TypeVar("R", bound=TenantResource)


def now() -> int:
    return int(time.time())


TENANT_SCOPE = "gigcover_tenant_scope"  # the execution option naming whose rows a scoped query reads


def scoped(model: type[R], tenant: Tenant) -> Select[R]:
    return (
        select(model)
        .where(
            model.organization_id == tenant.organization_id,
            model.environment == tenant.environment,
            model.deleted_at.is_(None),
        )
        .execution_options(**{TENANT_SCOPE: (tenant.organization_id, tenant.environment)})
    )


def filtered(query: Select[R], filters: Mapping[Any, object]) -> Select[R]:
    """``query`` narrowed by each ``column: value`` whose value the caller gave (None means no filter)."""
    for column, value in filters.items():
        if value is not None:
            query = query.where(column == value)
    return query


def get_owned(
    session: Session, model: type[R], tenant: Tenant, object_id: str, error_code: str, kind: str
) -> R:
    found = session.scalar(scoped(model, tenant).where(model.id == object_id))
    if found is None:
        raise not_found(error_code, kind, object_id)
    return found


class Page(BaseModel):
    limit: int = 10
    starting_after: str | None = None
    ending_before: str | None = None


def list_page(session: Session, query: Select[R], model: type[R], page: Page) -> Sequence[R]:
    """Newest first; ``starting_after`` continues towards older objects, ``ending_before`` towards newer.
    The cursor is looked up among the tenant's own rows (``query`` comes from ``scoped``): another
    organization's or environment's id is as unknown as one that never existed."""
    cursor_id = page.starting_after or page.ending_before
    if cursor_id:
        organization_id, environment = query.get_execution_options()[TENANT_SCOPE]
        cursor = session.scalar(
            select(model.seq).where(
                model.id == cursor_id,
                model.organization_id == organization_id,
                model.environment == environment,
            )
        )
        if cursor is None:
            field = "starting_after" if page.starting_after else "ending_before"
            raise invalid(f"{field}: no such object '{cursor_id}'", field)
        if page.starting_after:
            query = query.where(model.seq < cursor)
        else:
            newer = list(
                session.scalars(query.where(model.seq > cursor).order_by(model.seq.asc()).limit(page.limit))
            )
            return list(reversed(newer))
    return list(session.scalars(query.order_by(model.seq.desc()).limit(page.limit)))


class Identified(Protocol):
    @property
    def id(self) -> Any: ...


Row = TypeVar("Row", bound=Identified)


def page_after(fetch: Callable[[int], Sequence[Row]], per_page: int) -> tuple[list[Row], Any]:
    """Up to ``per_page`` rows from ``fetch(limit)``, asking for one more to know whether an older page
    exists: (rows, the id of the last row shown for the "Older" link, or None). A full last page gets no
    link to an empty one."""
    rows = list(fetch(per_page + 1))
    return rows[:per_page], rows[per_page - 1].id if len(rows) > per_page else None


@dataclass(frozen=True)
class Listing(Generic[R]):
    """A page of a list, newest first, and where the next older page starts (None: this is the last)."""

    rows: list[R]
    older: str | None


def newest_first(
    session: Session, query: Select[R], model: type[R], after: str | None, per_page: int
) -> Listing[R]:
    rows, older = page_after(
        lambda limit: list_page(session, query, model, Page(limit=limit, starting_after=after or None)),
        per_page,
    )
    return Listing(rows, older)


def get_entity(session: Session, tenant: Tenant, entity_id: str) -> Entity:
    return get_owned(session, Entity, tenant, entity_id, "invalid_entity_id", "entity")


def get_contractor(session: Session, tenant: Tenant, contractor_id: str) -> Contractor:
    return get_owned(session, Contractor, tenant, contractor_id, "invalid_contractor_id", "contractor")


def get_job(session: Session, tenant: Tenant, job_id: str) -> Job:
    return get_owned(session, Job, tenant, job_id, "invalid_job_id", "job")


def get_quote(session: Session, tenant: Tenant, quote_id: str) -> Quote:
    return get_owned(session, Quote, tenant, quote_id, "invalid_quote_id", "quote")


def get_policy(session: Session, tenant: Tenant, policy_id: str) -> Policy:
    return get_owned(session, Policy, tenant, policy_id, "invalid_policy_id", "policy")


def get_application(session: Session, tenant: Tenant, session_id: str) -> ApplicationSession:
    return get_owned(session, ApplicationSession, tenant, session_id, "invalid_session_id", "session")


def get_assignment(session: Session, tenant: Tenant, assignment_id: str) -> Assignment:
    return get_owned(session, Assignment, tenant, assignment_id, "invalid_assignment_id", "assignment")


def get_invoice(session: Session, tenant: Tenant, invoice_id: str) -> Invoice:
    return get_owned(session, Invoice, tenant, invoice_id, "invalid_invoice_id", "invoice")


def get_endpoint(session: Session, tenant: Tenant, endpoint_id: str) -> WebhookEndpoint:
    return get_owned(
        session, WebhookEndpoint, tenant, endpoint_id, "invalid_webhook_endpoint_id", "webhook endpoint"
    )


# The API's lists: one tenant's rows, newest first, one page, narrowed by the filters given (None: any).


def list_entities(session: Session, tenant: Tenant, page: Page) -> Sequence[Entity]:
    return list_page(session, scoped(Entity, tenant), Entity, page)


def list_contractors(session: Session, tenant: Tenant, page: Page, email: str | None) -> Sequence[Contractor]:
    return list_page(
        session, filtered(scoped(Contractor, tenant), {Contractor.email: email}), Contractor, page
    )


def list_jobs(session: Session, tenant: Tenant, page: Page, entity: str | None) -> Sequence[Job]:
    return list_page(session, filtered(scoped(Job, tenant), {Job.entity_id: entity}), Job, page)


def list_quotes(
    session: Session, tenant: Tenant, page: Page, contractor: str | None, job: str | None
) -> Sequence[Quote]:
    query = filtered(scoped(Quote, tenant), {Quote.contractor_id: contractor, Quote.job_id: job})
    return list_page(session, query, Quote, page)


def list_policies(
    session: Session, tenant: Tenant, page: Page, quote: str | None, contractor: str | None
) -> Sequence[Policy]:
    query = filtered(scoped(Policy, tenant), {Policy.quote_id: quote, Policy.contractor_id: contractor})
    return list_page(session, query, Policy, page)


def list_contractor_policies(
    session: Session, tenant: Tenant, page: Page, contractor_id: str
) -> Sequence[Policy]:
    """A contractor's policies; refused (404 kind) when the contractor is not the tenant's."""
    contractor = get_contractor(session, tenant, contractor_id)
    return list_page(
        session, scoped(Policy, tenant).where(Policy.contractor_id == contractor.id), Policy, page
    )


def list_applications(
    session: Session, tenant: Tenant, page: Page, contractor: str | None, is_general_opt_in: bool | None
) -> Sequence[ApplicationSession]:
    query = filtered(scoped(ApplicationSession, tenant), {ApplicationSession.contractor_id: contractor})
    if is_general_opt_in is not None:
        query = query.where(ApplicationSession.is_general_opt_in.is_(is_general_opt_in))
    return list_page(session, query, ApplicationSession, page)


def list_assignments(
    session: Session, tenant: Tenant, page: Page, contractor: str | None, job: str | None
) -> Sequence[Assignment]:
    query = filtered(
        scoped(Assignment, tenant), {Assignment.contractor_id: contractor, Assignment.job_id: job}
    )
    return list_page(session, query, Assignment, page)


def list_invoices(
    session: Session, tenant: Tenant, page: Page, contractor: str | None, job: str | None
) -> Sequence[Invoice]:
    query = filtered(scoped(Invoice, tenant), {Invoice.contractor_id: contractor, Invoice.job_id: job})
    return list_page(session, query, Invoice, page)


def list_bills(
    session: Session, tenant: Tenant, page: Page, contractor: str | None, status: str | None
) -> Sequence[Bill]:
    query = filtered(scoped(Bill, tenant), {Bill.contractor_id: contractor, Bill.status: status})
    return list_page(session, query, Bill, page)


def list_emails(
    session: Session, tenant: Tenant, page: Page, kind: str | None, recipient: str | None, status: str | None
) -> Sequence[EmailMessage]:
    filters = {EmailMessage.kind: kind, EmailMessage.recipient: recipient, EmailMessage.status: status}
    return list_page(session, filtered(scoped(EmailMessage, tenant), filters), EmailMessage, page)


def get_email(session: Session, tenant: Tenant, email_id: str) -> EmailMessage:
    return get_owned(session, EmailMessage, tenant, email_id, "resource_not_found", "email")


def list_webhook_endpoints(session: Session, tenant: Tenant, page: Page) -> Sequence[WebhookEndpoint]:
    return list_page(session, scoped(WebhookEndpoint, tenant), WebhookEndpoint, page)


def list_creatoriq_creators(
    session: Session,
    tenant: Tenant,
    page: Page,
    status: str | None,
    campaign_id: int | None,
    publisher_id: int | None,
) -> Sequence[CreatorIQCreator]:
    filters = {
        CreatorIQCreator.status: status,
        CreatorIQCreator.campaign_id: campaign_id,
        CreatorIQCreator.publisher_id: publisher_id,
    }
    return list_page(session, filtered(scoped(CreatorIQCreator, tenant), filters), CreatorIQCreator, page)


def get_creatoriq_creator(session: Session, tenant: Tenant, creator_id: str) -> CreatorIQCreator:
    return get_owned(
        session, CreatorIQCreator, tenant, creator_id, "invalid_creatoriq_creator_id", "creatoriq creator"
    )


def application_of(session: Session, application_session_id: str | None) -> ApplicationSession | None:
    """The application a synced creator was sent (None: none yet)."""
    if application_session_id is None:
        return None
    return session.scalar(select(ApplicationSession).where(ApplicationSession.id == application_session_id))


def shared_document(session: Session, token: str, filename: str) -> Document | None:
    """A PDF served at its unguessable link (never an uploaded CSV: those stay in the dashboard)."""
    document = session.scalar(
        select(Document).where(
            Document.token == token,
            Document.deleted_at.is_(None),
            Document.erased_at.is_(None),
            Document.content_type == "application/pdf",
        )
    )
    return document if document is not None and document.filename == filename else None


def card_on_file(session: Session, contractor_id: str) -> ApplicationSession | None:
    """The contractor's newest saved card: from their latest application that saved one."""
    return session.scalar(
        select(ApplicationSession)
        .where(
            ApplicationSession.contractor_id == contractor_id,
            ApplicationSession.payment_method_id.is_not(None),
        )
        .order_by(ApplicationSession.seq.desc())
        .limit(1)
    )
