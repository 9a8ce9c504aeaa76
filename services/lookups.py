"""Tenant-scoped reads every front and operation shares: one object (or a 404-kind refusal), and pages of
them. Another organization's or environment's object does not exist for the caller."""

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from db.models import (
    ApplicationSession,
    Assignment,
    Contractor,
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


def scoped(model: type[R], tenant: Tenant) -> Select[tuple[R]]:
    return (
        select(model)
        .where(
            model.organization_id == tenant.organization_id,
            model.environment == tenant.environment,
            model.deleted_at.is_(None),
        )
        .execution_options(**{TENANT_SCOPE: (tenant.organization_id, tenant.environment)})
    )


def filtered(query: Select[tuple[R]], filters: dict[Any, object | None]) -> Select[tuple[R]]:
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


def list_page(session: Session, query: Select[tuple[R]], model: type[R], page: Page) -> Sequence[R]:
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
    session: Session, query: Select[tuple[R]], model: type[R], after: str | None, per_page: int
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
