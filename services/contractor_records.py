"""What the dashboard shows of contractors: a search over them (name or email, coverage status), and one
contractor's record: policies, applications, assignments, invoices, the money their assignments moved, the
certificates they brought (and their compliance) and every email we sent them. Reads only; every query is
scoped to the tenant and bounded."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from sqlalchemy import ColumnElement, Select, exists, func, not_, or_
from sqlalchemy.orm import Session

from db.models import (
    ApplicationSession,
    Assignment,
    Contractor,
    EmailMessage,
    Invoice,
    Job,
    Policy,
    Quote,
    TenantResource,
)
from domain.application import ENDED
from domain.errors import not_found
from domain.statuses import PolicyStatus
from services.assignment_money import Movement, money_moved
from services.certificate_overview import ContractorCertificates, contractor_certificates
from services.lookups import Page, get_application, get_contractor, list_page, scoped
from services.tenancy import Tenant

R = TypeVar("R", bound=TenantResource)
SHOWN = 50  # rows per section of a contractor's record, and per page of the list


class CoverageStatus(StrEnum):
    COVERED = "covered"  # an active policy
    APPLYING = "applying"  # no active policy; an application waits on the contractor
    UNCOVERED = "uncovered"  # neither


def _has_active_policy() -> ColumnElement[bool]:
    return exists().where(
        Policy.contractor_id == Contractor.id,
        Policy.status == PolicyStatus.ACTIVE,
        Policy.deleted_at.is_(None),
    )


def _has_open_application() -> ColumnElement[bool]:
    return exists().where(
        ApplicationSession.contractor_id == Contractor.id,
        ApplicationSession.status.not_in([s.value for s in ENDED]),
        ApplicationSession.deleted_at.is_(None),
    )


def search(
    session: Session,
    tenant: Tenant,
    text: str | None = None,
    status: CoverageStatus | None = None,
    page: Page | None = None,
    state: str | None = None,
    job_type: str | None = None,
) -> Sequence[Contractor]:
    """Newest first. ``text`` matches part of the name ("first last") or of the email, ignoring case;
    ``state``: where they live (their address); ``job_type``: a job category they were quoted or assigned
    a job of."""
    query = scoped(Contractor, tenant)
    if state:
        query = query.where(Contractor.address["region"].as_string() == state.upper())
    if job_type:
        of_type = scoped(Job, tenant).where(Job.category_id == job_type).with_only_columns(Job.id)
        quoted = scoped(Quote, tenant).where(Quote.job_id.in_(of_type)).with_only_columns(Quote.contractor_id)
        assigned = (
            scoped(Assignment, tenant)
            .where(Assignment.job_id.in_(of_type))
            .with_only_columns(Assignment.contractor_id)
        )
        query = query.where(or_(Contractor.id.in_(quoted), Contractor.id.in_(assigned)))
    if text and text.strip():
        needle = text.strip().lower()
        full_name = func.lower(Contractor.first_name + " " + Contractor.last_name)
        query = query.where(
            or_(
                full_name.contains(needle, autoescape=True),
                func.lower(Contractor.email).contains(needle, autoescape=True),
            )
        )
    if status is CoverageStatus.COVERED:
        query = query.where(_has_active_policy())
    elif status is CoverageStatus.APPLYING:
        query = query.where(not_(_has_active_policy()), _has_open_application())
    elif status is CoverageStatus.UNCOVERED:
        query = query.where(not_(_has_active_policy()), not_(_has_open_application()))
    return list_page(session, query, Contractor, page or Page(limit=SHOWN))


def statuses(session: Session, tenant: Tenant, contractor_ids: Iterable[str]) -> dict[str, CoverageStatus]:
    """The coverage status of each of ``contractor_ids`` (one page of them), in two indexed queries."""
    ids = list(contractor_ids)
    if not ids:
        return {}
    covered = set(
        session.scalars(
            scoped(Policy, tenant)
            .where(Policy.contractor_id.in_(ids), Policy.status == PolicyStatus.ACTIVE)
            .with_only_columns(Policy.contractor_id)
        )
    )
    applying = set(
        session.scalars(
            scoped(ApplicationSession, tenant)
            .where(
                ApplicationSession.contractor_id.in_(ids),
                ApplicationSession.status.not_in([s.value for s in ENDED]),
            )
            .with_only_columns(ApplicationSession.contractor_id)
        )
    )
    return {
        i: CoverageStatus.COVERED
        if i in covered
        else CoverageStatus.APPLYING
        if i in applying
        else CoverageStatus.UNCOVERED
        for i in ids
    }


@dataclass(frozen=True)
class AssignmentMovement:
    """Money one of the contractor's assignments moved (services.assignment_money, as its page shows)."""

    assignment_id: str
    movement: Movement


def money_of(session: Session, tenant: Tenant, assignments: Sequence[Assignment]) -> list[AssignmentMovement]:
    """Card charges and refunds, and bills, of these assignments, newest first. Every charge belongs to an
    assignment: a completed application hands what it collected to its engagement's assignment."""
    moved = [AssignmentMovement(a.id, m) for a in assignments for m in money_moved(session, tenant, a)]
    return sorted(moved, key=lambda m: m.movement.at, reverse=True)


@dataclass(frozen=True)
class ContractorRecord:
    contractor: Contractor
    status: CoverageStatus
    policies: list[Policy]
    applications: list[ApplicationSession]
    assignments: list[Assignment]
    invoices: list[Invoice]
    money: list[AssignmentMovement]
    emails: list[EmailMessage]
    older_emails: int | None  # the ``emails_before`` cursor of the next page of emails, if there is one
    certificates: ContractorCertificates  # certificates the contractor brought, and their compliance


def _newest(session: Session, query: Select[R], model: type[R]) -> list[R]:
    return list(session.scalars(query.order_by(model.seq.desc()).limit(SHOWN)))


def record_of(
    session: Session, tenant: Tenant, contractor_id: str, emails_before: int | None = None
) -> ContractorRecord:
    """Another organization's (or environment's) contractor is not found, as in the API."""
    contractor = get_contractor(session, tenant, contractor_id)
    mine = contractor.id
    applications = _newest(
        session,
        scoped(ApplicationSession, tenant).where(ApplicationSession.contractor_id == mine),
        ApplicationSession,
    )
    assignments = _newest(
        session, scoped(Assignment, tenant).where(Assignment.contractor_id == mine), Assignment
    )
    emails_query = scoped(EmailMessage, tenant).where(EmailMessage.recipient == contractor.email)
    if emails_before is not None:
        emails_query = emails_query.where(EmailMessage.seq < emails_before)
    emails = list(session.scalars(emails_query.order_by(EmailMessage.seq.desc()).limit(SHOWN + 1)))
    return ContractorRecord(
        contractor=contractor,
        status=statuses(session, tenant, [mine])[mine],
        policies=_newest(session, scoped(Policy, tenant).where(Policy.contractor_id == mine), Policy),
        applications=applications,
        assignments=assignments,
        invoices=_newest(session, scoped(Invoice, tenant).where(Invoice.contractor_id == mine), Invoice),
        money=money_of(session, tenant, assignments),
        emails=emails[:SHOWN],
        older_emails=emails[SHOWN - 1].seq if len(emails) > SHOWN else None,
        certificates=contractor_certificates(session, tenant, mine),
    )


def contractors_application(session: Session, tenant: Tenant, contractor_id: str, session_id: str) -> str:
    """The application's id, if it is this contractor's (and, like the contractor, the tenant's): its record
    acts on its own applications only. Otherwise a 404 refusal."""
    contractor = get_contractor(session, tenant, contractor_id)
    if get_application(session, tenant, session_id).contractor_id != contractor.id:
        raise not_found("invalid_session_id", "session", session_id)
    return session_id
