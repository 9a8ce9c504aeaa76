"""The business operations called directly, with no HTTP in between: what each writes, and that a refusal
(one DomainError with a code, a message and the field) writes nothing. The workflow port is the edge here:
a recording stand-in answers for Temporal (the API tests drive the real one)."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.exceptions import ApplicationError

from activities.refusals import refusals_are_final
from common.settings import Settings
from contracts.assignment import ADJUST, InvoiceAdjustment, assignment_workflow_id
from contracts.calls import QueryName, SignalName, UpdateName
from db.models import (
    ApplicationSession,
    Assignment,
    Contractor,
    Invoice,
    Job,
    Organization,
    PremiumAdjustment,
    Quote,
    Scope,
)
from domain.application import Status
from domain.assignment_coverage import CoveragePath
from domain.dates import DAY
from domain.errors import DomainError, Refusal, conflict
from domain.statuses import AssignmentStatus, InvoiceStatus
from services import applications, assignments, contractors, entities, invoices, jobs, policies, quotes
from services.applications import SessionIn
from services.assignments import AssignmentIn, CancelIn, ExtendIn
from services.contractors import ContractorIn
from services.entities import EntityIn
from services.invoices import InvoiceIn, InvoiceUpdate
from services.jobs import JobIn, JobUpdate
from services.lookups import now
from services.policies import PolicyIn
from services.quotes import QuoteIn
from services.tenancy import Tenant
from tests.support import INFLUENCER, contractor_fields, entity_fields, job_fields, make_org, unique_email


class RecordingWorkflows:
    """Answers for the workflows: records each Update, and refuses when told to."""

    def __init__(self) -> None:
        self.updates: list[tuple[str, str, Any]] = []
        self.refusal: DomainError | None = None

    def query(self, workflow_id: str, query: QueryName[Any]) -> None:
        return None

    def update(self, workflow_id: str, update: UpdateName[Any, Any], arg: Any) -> Any:
        self.updates.append((workflow_id, update.name, arg))
        if self.refusal is not None:
            raise self.refusal
        return None

    def update_or_accepted(self, workflow_id: str, update: UpdateName[Any, Any], arg: Any) -> Any:
        return self.update(workflow_id, update, arg) or "finished"

    def signal(self, workflow_id: str, signal: SignalName[Any], arg: Any) -> None:
        self.updates.append((workflow_id, signal.name, arg))


@pytest.fixture
def local_settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path, database_url=database_url)


@pytest.fixture
def db(session_factory: sessionmaker[Session]) -> Iterator[tuple[Session, Tenant]]:
    org = make_org(session_factory)
    with session_factory() as session:
        organization = session.get(Organization, org.id)
        assert organization is not None
        yield session, Tenant(organization, "sandbox")


def count(session: Session, model: type[Any], tenant: Tenant) -> int:
    session.rollback()
    return session.scalar(
        select(func.count()).select_from(model).where(model.organization_id == tenant.organization_id)
    )


def refused(
    error: pytest.ExceptionInfo[DomainError], code: str, kind: Refusal = Refusal.INVALID
) -> str | None:
    assert (error.value.code, error.value.kind) == (code, kind), error.value.message
    return error.value.field


def a_job(session: Session, tenant: Tenant, **overrides: object) -> Job:
    entity = entities.create_entity(session, tenant, EntityIn(**entity_fields()))  # type: ignore[arg-type]
    return jobs.create_job(session, tenant, JobIn(**job_fields(entity.id, **overrides)))  # type: ignore[arg-type]


def a_contractor(session: Session, tenant: Tenant) -> Contractor:
    fields = contractor_fields(unique_email())
    return contractors.create_contractor(session, tenant, ContractorIn(**fields))  # type: ignore[arg-type]


def test_tenant_rows_get_their_prefix_owner_and_time(db: tuple[Session, Tenant]) -> None:
    _, tenant = db
    made = Contractor.new(tenant, first_name="A")
    assert made.id.startswith("cn_") and made.organization_id == tenant.organization_id
    assert made.environment == "sandbox" and abs(made.created - now()) <= 1
    assert ApplicationSession.new(Scope("org_x", "production")).id.startswith("ias_")


def test_a_duplicate_contractor_email_is_refused_and_nothing_is_written(db: tuple[Session, Tenant]) -> None:
    session, tenant = db
    first = a_contractor(session, tenant)
    with pytest.raises(DomainError) as error:
        contractors.create_contractor(
            session,
            tenant,
            ContractorIn(**contractor_fields(first.email.upper())),  # type: ignore[arg-type]
        )
    assert refused(error, "duplicate_email") == "email"
    assert count(session, Contractor, tenant) == 1


def test_a_job_needs_an_approved_category(
    db: tuple[Session, Tenant], session_factory: sessionmaker[Session]
) -> None:
    session, tenant = db
    job = a_job(session, tenant)
    assert job.id.startswith("jb_") and job.category_id == INFLUENCER
    with pytest.raises(DomainError) as error:
        jobs.update_job(session, tenant, job.id, JobUpdate(category_code="jc_nope"))
    assert refused(error, "invalid_job_category_code", Refusal.NOT_FOUND) == "category_code"
    with pytest.raises(DomainError) as error:
        jobs.update_job(session, tenant, job.id, JobUpdate(wage=None))
    assert refused(error, "invalid_input") == "wage"
    session.rollback()
    assert session.get(Job, job.seq).category_id == INFLUENCER  # type: ignore[union-attr]


def test_a_quote_is_rated_and_a_policy_on_file_makes_a_second_one_needless(
    db: tuple[Session, Tenant], local_settings: Settings
) -> None:
    session, tenant = db
    contractor, job = a_contractor(session, tenant), a_job(session, tenant)
    body = QuoteIn(contractor=contractor.id, job=job.id, coverage_type=["workers-comp", "general"])  # type: ignore[list-item]
    quote = quotes.create_quote(session, tenant, body)
    assert quote.eligible and quote.premium_due > 0 and quote.coverage_type == ["general", "workers-comp"]
    assert quote.work_state == "CA" and quote.estimated_gross_pay == 250_000
    policy = policies.create_policy(session, tenant, PolicyIn(quote=quote.id), local_settings)
    assert policy.status == "active" and set(policy.certificates)
    with pytest.raises(DomainError) as error:
        quotes.create_quote(session, tenant, body)
    refused(error, "contractor_has_matching_policy")
    with pytest.raises(DomainError) as error:
        policies.create_policy(session, tenant, PolicyIn(quote=quote.id), local_settings)
    refused(error, "policy_already_exists", Refusal.CONFLICT)
    assert count(session, Quote, tenant) == 1


def test_dates_in_the_past_are_refused_with_the_field(db: tuple[Session, Tenant]) -> None:
    session, tenant = db
    contractor, job = a_contractor(session, tenant), a_job(session, tenant)
    body = QuoteIn(
        contractor=contractor.id, job=job.id, coverage_type=["general"], effective_date=now() - 3 * DAY
    )  # type: ignore[list-item]
    with pytest.raises(DomainError) as error:
        quotes.create_quote(session, tenant, body)
    assert refused(error, "effective_date_invalid") == "effective_date"
    assert error.value.message.startswith("effective_date: ")


def test_an_application_opens_with_its_workflow_due_and_its_link_emailed(
    db: tuple[Session, Tenant], local_settings: Settings
) -> None:
    session, tenant = db
    contractor, job = a_contractor(session, tenant), a_job(session, tenant)
    quote = quotes.create_quote(
        session,
        tenant,
        QuoteIn(contractor=contractor.id, job=job.id, coverage_type=["general"]),  # type: ignore[list-item]
    )
    finished = applications.finished_url(local_settings)
    body = SessionIn(quote=quote.id, success_url=finished, cancel_url=finished, send_email=True)  # type: ignore[arg-type]
    row = applications.open_application(session, tenant, body, local_settings)
    assert (row.status, row.premium, row.withhold_premium) == (Status.CREATED, quote.premium_due, False)
    assert not row.dispatched and row.expires_at == row.created + local_settings.application_lifetime_seconds
    with pytest.raises(DomainError) as error:
        applications.open_application(session, tenant, body, local_settings)
    refused(error, "bad_request", Refusal.CONFLICT)
    opt_in = SessionIn(
        contractor=contractor.id,
        is_general_opt_in=True,
        work_state="CA",
        success_url=finished,
        cancel_url=finished,  # type: ignore[arg-type]
    )
    with pytest.raises(DomainError) as error:
        applications.open_application(session, tenant, opt_in, local_settings)
    assert refused(error, "invalid_input") == "is_general_opt_in"
    assert count(session, ApplicationSession, tenant) == 1


def test_assignment_paths_standard_reuse_and_not_bound(
    db: tuple[Session, Tenant], local_settings: Settings
) -> None:
    session, tenant = db
    contractor, job = a_contractor(session, tenant), a_job(session, tenant)
    body = AssignmentIn(contractor=contractor.id, job=job.id, coverage_type=["general"])  # type: ignore[list-item]
    standard = assignments.create_assignment(session, tenant, body, local_settings)
    assert standard.coverage_path == CoveragePath.STANDARD
    assert standard.status == AssignmentStatus.AWAITING_APPLICATION and standard.application_session_id
    assert not standard.eligible_result and "standard workflow" in standard.eligible_message
    application = session.scalar(
        select(ApplicationSession).where(ApplicationSession.id == standard.application_session_id)
    )
    assert application is not None and application.premium == standard.premium

    quote = quotes.create_quote(
        session, tenant, QuoteIn(contractor=contractor.id, job=job.id, coverage_type=["general"])
    )  # type: ignore[list-item]
    quote.effective_date, quote.end_date = now() - DAY, now() + 60 * DAY
    policy = policies.create_policy(session, tenant, PolicyIn(quote=quote.id), local_settings)
    reused = assignments.create_assignment(session, tenant, body, local_settings)
    assert (reused.coverage_path, reused.policy_id, reused.status) == (
        CoveragePath.EXISTING_POLICY,
        policy.id,
        AssignmentStatus.PENDING,
    )
    assert reused.eligible_result and reused.payer == "card"

    unbound = assignments.create_assignment(
        session, tenant, body.model_copy(update={"bind": False}), local_settings
    )
    assert (unbound.coverage_path, unbound.status) == (CoveragePath.NOT_BOUND, AssignmentStatus.NOT_BOUND)


def test_invoices_reprice_through_the_workflow_and_a_refusal_undoes_them(
    db: tuple[Session, Tenant], local_settings: Settings
) -> None:
    session, tenant = db
    contractor, job = a_contractor(session, tenant), a_job(session, tenant)
    workflows = RecordingWorkflows()
    pay = dict(contractor=contractor.id, job=job.id, paycycle_startdate=now(), paycycle_enddate=now())
    with pytest.raises(DomainError) as error:
        invoices.create_invoice(session, tenant, InvoiceIn(gross_pay=120_000, **pay), workflows)  # type: ignore[arg-type]
    refused(error, "no_active_policy")
    assert count(session, Invoice, tenant) == 0 and workflows.updates == []

    quote = quotes.create_quote(
        session, tenant, QuoteIn(contractor=contractor.id, job=job.id, coverage_type=["general"])
    )  # type: ignore[list-item]
    quote.effective_date, quote.end_date = now() - DAY, now() + 60 * DAY
    policies.create_policy(session, tenant, PolicyIn(quote=quote.id), local_settings)
    body = AssignmentIn(contractor=contractor.id, job=job.id, coverage_type=["general"])  # type: ignore[list-item]
    assignment = assignments.create_assignment(session, tenant, body, local_settings)

    first = invoices.create_invoice(session, tenant, InvoiceIn(gross_pay=120_000, **pay), workflows)  # type: ignore[arg-type]
    adjustment = session.scalar(select(PremiumAdjustment).where(PremiumAdjustment.invoice_key == first.id))
    assert adjustment is not None and adjustment.dispatched
    assert workflows.updates == [
        (
            assignment_workflow_id(assignment.id),
            ADJUST.name,
            InvoiceAdjustment(invoice_id=first.id, premium=first.premium_due, sequence=adjustment.id),
        )
    ]
    workflows.refusal = conflict("bad_request", "the assignment is cancelled")
    with pytest.raises(DomainError):
        invoices.update_invoice(session, tenant, first.id, InvoiceUpdate(gross_pay=90_000), workflows)
    session.refresh(first)
    assert (first.gross_pay, first.status) == (120_000, InvoiceStatus.OPEN)
    with pytest.raises(DomainError):
        invoices.create_invoice(session, tenant, InvoiceIn(gross_pay=90_000, **pay), workflows)  # type: ignore[arg-type]
    session.refresh(first)
    assert first.status == InvoiceStatus.OPEN  # the replaced invoice is open again


def test_cancel_and_extend_follow_the_assignment_rules(
    db: tuple[Session, Tenant], local_settings: Settings
) -> None:
    session, tenant = db
    contractor, job = a_contractor(session, tenant), a_job(session, tenant)
    workflows = RecordingWorkflows()
    body = AssignmentIn(contractor=contractor.id, job=job.id, coverage_type=["general"], bind=False)  # type: ignore[list-item]
    row = assignments.create_assignment(session, tenant, body, local_settings)
    with pytest.raises(DomainError) as error:
        assignments.extend_assignment(
            session, tenant, ExtendIn(job_id=job.id, end_date=row.end_date - DAY), workflows, local_settings
        )
    assert refused(error, "end_date_invalid") == "end_date"
    extended = assignments.extend_assignment(
        session, tenant, ExtendIn(job_id=job.id, end_date=row.end_date + DAY), workflows, local_settings
    )
    assert (
        extended.end_date == row.end_date and workflows.updates == []
    )  # not dispatched: no workflow to tell
    done = assignments.cancel_assignment(session, tenant, CancelIn(job_id=job.id), workflows)
    cancelled = done.assignment
    assert not done.pending and cancelled.cancelled and cancelled.status == AssignmentStatus.CANCELLED
    with pytest.raises(DomainError) as error:
        assignments.cancel_assignment(session, tenant, CancelIn(job_id=job.id), workflows)
    refused(error, "invalid_assignment_id", Refusal.NOT_FOUND)
    assert session.scalar(select(func.count()).select_from(Assignment).where(Assignment.id == row.id)) == 1


def test_an_activity_fails_for_good_on_a_refusal() -> None:
    with pytest.raises(ApplicationError) as failed, refusals_are_final():
        raise DomainError("no_active_policy", "nothing to bind", "policy")
    assert failed.value.non_retryable and failed.value.type == "no_active_policy"
    assert failed.value.message == "nothing to bind" and failed.value.details == ("policy",)
