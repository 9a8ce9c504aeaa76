"""SQLAlchemy models: the system of record for API resources.

Every tenant-scoped row carries the organization and the environment (sandbox or production) of the key
that created it; queries always filter on both, so neither organizations nor environments see each other.
Rows are soft-deleted (``deleted_at``) so that events and policies keep their history.
"""

import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar, Protocol, Self

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, validates

from common.ids import new_id
from db.sealed import SealedText
from domain import bills, people
from domain.application import Status, Step
from domain.assignment_coverage import CoveragePath
from domain.bill_lines import PoContactFrom
from domain.certificates import CertificateStatus
from domain.payer import Payer
from domain.statuses import (
    AssignmentStatus,
    BillStatus,
    CreatorSyncStatus,
    DeliveryStatus,
    EmailStatus,
    InvoiceStatus,
    PaymentStatus,
    PolicyStatus,
    WebhookEndpointStatus,
)

# Times (unix seconds) and amounts (cents): 64-bit, so nothing overflows in 2038. SQLite's INTEGER already
# holds 64 bits (its declared type stays INTEGER); PostgreSQL's becomes BIGINT (migration 0017).
Int64 = BigInteger().with_variant(Integer(), "sqlite")


def stored_as(enum: type[StrEnum], length: int) -> Enum:
    """A column of a closed set of values (a status, a path, a payer) typed by its enum, stored as the plain
    ``VARCHAR(length)`` of the enum's values it has always been: no native enum type, no CHECK constraint,
    so the schema and the stored strings are as the migrations made them. Rows read back hold enum members
    (which compare equal to their strings); a filter by an unknown string matches nothing, as before."""
    return Enum(
        enum,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
    )


def email_key(email: str) -> str:
    """An email as it names a contractor: the same address whatever its case or surrounding spaces."""
    return email.strip().lower()


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    withhold_premium: Mapped[bool] = mapped_column(Boolean, default=False)  # production's
    sandbox_withhold_premium: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    billing_contact_name: Mapped[str | None] = mapped_column(String(200))
    billing_contact_email: Mapped[str | None] = mapped_column(String(320))
    billing_address: Mapped[dict[str, Any] | None]
    created: Mapped[int] = mapped_column(Int64)
    # After how many days a contractor whose application is unfinished is reminded, in each environment
    # (domain/reminders.py); None: no reminders.
    application_reminder_days: Mapped[int | None] = mapped_column(Integer)  # production's
    sandbox_application_reminder_days: Mapped[int | None] = mapped_column(Integer)

    def reminder_days(self, environment: str) -> int | None:
        if environment == "production":
            return self.application_reminder_days
        return self.sandbox_application_reminder_days

    def set_reminder_days(self, environment: str, days: int | None) -> None:
        if environment == "production":
            self.application_reminder_days = days
        else:
            self.sandbox_application_reminder_days = days

    def withholds_premium(self, environment: str) -> bool:
        """Who pays by default in ``environment``: a setting of each environment, so the sandbox can try
        both flows while production's stays as it is."""
        return self.withhold_premium if environment == "production" else self.sandbox_withhold_premium

    def set_withhold_premium(self, environment: str, withhold: bool) -> None:
        if environment == "production":
            self.withhold_premium = withhold
        else:
            self.sandbox_withhold_premium = withhold


class ApiKey(Base):
    """Only a SHA-256 of each key is stored; the key itself is shown once, when it is made (or rolled).
    ``public_id`` (``ak_…``) names it in the API, the dashboard and manage.py. A rolled key keeps working
    until ``expires_at``; a revoked one stops at once. ``last_used_at`` is written at most once a minute."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    environment: Mapped[str] = mapped_column(String(12))
    name: Mapped[str] = mapped_column(String(100), default="", server_default="")
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    key_hint: Mapped[str] = mapped_column(String(40))
    created: Mapped[int] = mapped_column(Int64)
    last_used_at: Mapped[int | None] = mapped_column(Int64)
    expires_at: Mapped[int | None] = mapped_column(Int64)
    revoked_at: Mapped[int | None] = mapped_column(Int64)


class JobCategory(Base):
    __tablename__ = "job_categories"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    code: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")


class CategoryRate(Base):
    __tablename__ = "category_rates"
    __table_args__ = (UniqueConstraint("category_id", "state", "coverage_type"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    category_id: Mapped[str] = mapped_column(ForeignKey("job_categories.id"), index=True)
    state: Mapped[str] = mapped_column(String(2))
    coverage_type: Mapped[str] = mapped_column(String(20))
    net_rate: Mapped[int] = mapped_column(Integer)
    stamping_fee: Mapped[int] = mapped_column(Int64, default=0)
    risk_purchasing_group_fee: Mapped[int] = mapped_column(Int64, default=0)


class CategoryApproval(Base):
    __tablename__ = "category_approvals"

    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    category_id: Mapped[str] = mapped_column(ForeignKey("job_categories.id"), primary_key=True)
    approved_at: Mapped[int] = mapped_column(Int64)


class Owner(Protocol):
    """Whoever a tenant row belongs to: an organization in one environment (an API tenant, or another row)."""

    @property
    def organization_id(self) -> str: ...

    @property
    def environment(self) -> str: ...


@dataclass(frozen=True)
class Scope:
    """An owner given by its two ids (for code that has no tenant or row at hand)."""

    organization_id: str
    environment: str


class TenantResource(Base):
    """Columns every API resource shares. ``seq`` orders lists (newest first) and pagination cursors."""

    __abstract__ = True
    ID_KIND: ClassVar[str]  # the kind whose prefix its ids take (common.ids.PREFIXES)

    @classmethod
    def new(cls, owner: Owner, *, id: str | None = None, **fields: Any) -> Self:
        """A new row of ``owner``'s, with a fresh id (unless given) and ``created`` now."""
        fields.setdefault("created", int(time.time()))
        return cls(
            id=id or new_id(cls.ID_KIND),
            organization_id=owner.organization_id,
            environment=owner.environment,
            **fields,
        )

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    environment: Mapped[str] = mapped_column(String(12))
    created: Mapped[int] = mapped_column(Int64)
    deleted_at: Mapped[int | None] = mapped_column(Int64)


class Entity(TenantResource):
    ID_KIND = "entity"
    __tablename__ = "entities"
    __table_args__ = (Index("ix_entities_tenant", "organization_id", "environment"),)

    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[dict[str, Any] | None]
    coverage_limit: Mapped[dict[str, Any] | None]
    required_coverage: Mapped[list[Any] | None]


class Contractor(TenantResource):
    ID_KIND = "contractor"
    __tablename__ = "contractors"
    __table_args__ = (
        Index("ix_contractors_tenant_email", "organization_id", "environment", "email"),
        Index("uq_contractors_tenant_email_key", "organization_id", "environment", "email_key", unique=True),
    )

    first_name: Mapped[str] = mapped_column(String(100))
    middle_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(320))
    phone: Mapped[str] = mapped_column(String(40))
    company_name: Mapped[str | None] = mapped_column(String(200))
    tax_identification: Mapped[str | None] = mapped_column(SealedText)  # SSN or EIN, encrypted at rest
    address: Mapped[dict[str, Any]]
    custom_metadata: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    withhold_premium: Mapped[bool | None] = mapped_column(Boolean)
    # The email as it names the contractor within the tenant (lower-cased, trimmed), unique among contractors
    # not deleted; None once deleted (the address may name a new contractor) and for duplicates from before.
    email_key: Mapped[str | None] = mapped_column(String(320))

    @property
    def full_name(self) -> str:
        return people.full_name(self.first_name, self.last_name)

    @validates("email")
    def _key_email(self, _field: str, email: str) -> str:
        if self.deleted_at is None:
            self.email_key = email_key(email)
        return email

    @validates("deleted_at")
    def _release_email(self, _field: str, deleted_at: int | None) -> int | None:
        if deleted_at is not None:
            self.email_key = None
        return deleted_at


class Job(TenantResource):
    ID_KIND = "job"
    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_tenant", "organization_id", "environment"),)

    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    entity_id: Mapped[str] = mapped_column(String(40))
    category_id: Mapped[str] = mapped_column(ForeignKey("job_categories.id"))
    wage: Mapped[int] = mapped_column(Int64)
    wage_type: Mapped[str] = mapped_column(String(20))
    years_experience: Mapped[int | None] = mapped_column(Integer)
    duration_hours: Mapped[float | None] = mapped_column(Float)
    address: Mapped[dict[str, Any] | None]
    custom_metadata: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    withhold_premium: Mapped[bool | None] = mapped_column(Boolean)


class Quote(TenantResource):
    ID_KIND = "quote"
    __tablename__ = "quotes"
    __table_args__ = (Index("ix_quotes_tenant", "organization_id", "environment"),)

    contractor_id: Mapped[str] = mapped_column(String(40), index=True)
    job_id: Mapped[str] = mapped_column(String(40), index=True)
    coverage_type: Mapped[list[Any]]
    effective_date: Mapped[int] = mapped_column(Int64)
    end_date: Mapped[int] = mapped_column(Int64)
    work_state: Mapped[str] = mapped_column(String(2))
    residence_state: Mapped[str] = mapped_column(String(2))
    eligible: Mapped[bool] = mapped_column(Boolean)
    eligibility_message: Mapped[str | None] = mapped_column(Text)
    net_rate: Mapped[int] = mapped_column(Integer)
    gl_net_rate: Mapped[int] = mapped_column(Integer)
    wc_net_rate: Mapped[int] = mapped_column(Integer)
    pl_net_rate: Mapped[int] = mapped_column(Integer)
    quote_json: Mapped[dict[str, Any]]
    estimated_gross_pay: Mapped[int] = mapped_column(Int64)
    premium_due: Mapped[int] = mapped_column(Int64)


class Policy(TenantResource):
    ID_KIND = "policy"
    __tablename__ = "policies"
    __table_args__ = (
        Index("ix_policies_tenant", "organization_id", "environment"),
        Index("ix_policies_status_expiration", "status", "expiration_date"),
    )

    quote_id: Mapped[str] = mapped_column(String(40), index=True)
    contractor_id: Mapped[str] = mapped_column(String(40), index=True)
    job_id: Mapped[str] = mapped_column(String(40))
    status: Mapped[PolicyStatus] = mapped_column(stored_as(PolicyStatus, 20))
    effective_date: Mapped[int] = mapped_column(Int64)
    expiration_date: Mapped[int] = mapped_column(Int64)
    pdf_url: Mapped[str | None] = mapped_column(Text)
    certificates: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    cancelled_at: Mapped[int | None] = mapped_column(Int64)


class WebhookEndpoint(TenantResource):
    ID_KIND = "webhook_endpoint"
    __tablename__ = "webhook_endpoints"
    __table_args__ = (Index("ix_webhook_endpoints_tenant", "organization_id", "environment"),)

    url: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    events: Mapped[list[Any]]
    secret: Mapped[str] = mapped_column(SealedText)  # encrypted at rest (db/sealed.py)
    # After a roll, the old secret keeps signing beside the new one until it expires (two v1= signatures).
    previous_secret: Mapped[str | None] = mapped_column(SealedText)
    previous_secret_expires_at: Mapped[int | None] = mapped_column(Int64)
    status: Mapped[WebhookEndpointStatus] = mapped_column(
        stored_as(WebhookEndpointStatus, 12),
        default=WebhookEndpointStatus.ENABLED,
        server_default=WebhookEndpointStatus.ENABLED.value,
    )

    def signing_secrets(self, at: float) -> list[str]:
        """The secrets a delivery made at ``at`` is signed with: the current one, then the rolled one
        while its overlap lasts."""
        if self.previous_secret and self.previous_secret_expires_at and at < self.previous_secret_expires_at:
            return [self.secret, self.previous_secret]
        return [self.secret]


class Event(TenantResource):
    ID_KIND = "event"
    __tablename__ = "events"
    __table_args__ = (Index("ix_events_tenant_type", "organization_id", "environment", "type"),)

    type: Mapped[str] = mapped_column(String(80))
    data: Mapped[dict[str, Any]]


class WebhookDelivery(TenantResource):
    """One event to one endpoint. ``dispatched`` turns true once its Temporal workflow has been started;
    the outbox sweep starts any that a crash left behind."""

    ID_KIND = "webhook_delivery"
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_endpoint", "endpoint_id"),
        Index("ix_webhook_deliveries_undispatched", "dispatched", "created"),
        Index("ix_webhook_deliveries_status", "status", "environment"),
    )

    event_id: Mapped[str] = mapped_column(String(40), index=True)
    endpoint_id: Mapped[str] = mapped_column(String(40))
    status: Mapped[DeliveryStatus] = mapped_column(
        stored_as(DeliveryStatus, 12), default=DeliveryStatus.PENDING
    )
    dispatched: Mapped[bool] = mapped_column(Boolean, default=False)
    attempt_count: Mapped[int] = mapped_column(Integer, default=0)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[int | None] = mapped_column(Int64)
    failed_at: Mapped[int | None] = mapped_column(Int64)
    resend_of: Mapped[str | None] = mapped_column(String(40))


class WebhookAttempt(Base):
    __tablename__ = "webhook_attempts"
    __table_args__ = (UniqueConstraint("delivery_id", "attempt"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(String(40), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    attempted_at: Mapped[float] = mapped_column(Float)
    status_code: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)


class EmailMessage(TenantResource):
    """An email, rendered when it was queued so every retry sends exactly the same message.

    ``subject``, ``text_body`` and ``html_body`` are the copy anyone may read: a capability link in it shows
    as withheld. Where one was, ``sealed_message`` keeps the message as sent (encrypted, JSON with ``text``
    and ``html``) until it is delivered or given up, then it is wiped. Mail to the dashboard's members is
    filed under the ``staff`` environment, which no tenant (sandbox or production) is ever scoped to."""

    ID_KIND = "email"
    __tablename__ = "email_messages"
    __table_args__ = (
        Index("ix_email_messages_tenant", "organization_id", "environment"),
        Index("ix_email_messages_recipient", "organization_id", "environment", "recipient"),
        Index("ix_email_messages_status", "status", "environment"),
        Index("ix_email_messages_undispatched", "dispatched", "created"),
    )

    kind: Mapped[str] = mapped_column(String(60))
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(Text)
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text)
    related: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[EmailStatus] = mapped_column(stored_as(EmailStatus, 12), default=EmailStatus.PENDING)
    dispatched: Mapped[bool] = mapped_column(Boolean, default=False)
    attempt_count: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[int | None] = mapped_column(Int64)
    sealed_message: Mapped[str | None] = mapped_column(SealedText)


class Document(TenantResource):
    """A stored PDF, served without a key at ``/files/<token>/<filename>``: the token is the capability."""

    ID_KIND = "document"
    __tablename__ = "documents"
    __table_args__ = (Index("ix_documents_kind_created", "kind", "created"),)  # the sweep's uploads

    kind: Mapped[str] = mapped_column(String(20))
    token: Mapped[str] = mapped_column(String(64), unique=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    storage_key: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(Int64)
    erased_at: Mapped[int | None] = mapped_column(Int64)  # its bytes were deleted from the store


class Bill(TenantResource):
    """A premium bill for an organization that remits on the contractor's behalf."""

    ID_KIND = "bill"
    __tablename__ = "bills"
    __table_args__ = (
        Index("ix_bills_tenant", "organization_id", "environment"),
        Index("ix_bills_status_due", "status", "due_date"),
    )

    contractor_id: Mapped[str] = mapped_column(String(40), index=True)
    job_id: Mapped[str | None] = mapped_column(String(40))
    policy_id: Mapped[str | None] = mapped_column(String(40))
    assignment_id: Mapped[str | None] = mapped_column(String(40))
    amount_due: Mapped[int] = mapped_column(Int64)
    bill_date: Mapped[int] = mapped_column(Int64)
    due_date: Mapped[int] = mapped_column(Int64)
    purchase_order_number: Mapped[str | None] = mapped_column(String(100))
    po_contact_name: Mapped[str | None] = mapped_column(String(200))
    po_contact_email: Mapped[str | None] = mapped_column(String(320))
    # "job" (the job's metadata) or "organization" (its billing contact: the job names none); None before 0022
    po_contact_from: Mapped[PoContactFrom | None] = mapped_column(stored_as(PoContactFrom, 12))
    line_items: Mapped[list[Any]]
    status: Mapped[BillStatus] = mapped_column(stored_as(BillStatus, 12), default=BillStatus.OPEN)
    pdf_url: Mapped[str | None] = mapped_column(Text)
    amount_paid: Mapped[int] = mapped_column(Int64, default=0, server_default="0")
    paid_at: Mapped[int | None] = mapped_column(Int64)
    payment_reference: Mapped[str | None] = mapped_column(String(200))

    @property
    def amount_remaining(self) -> int:
        return bills.amount_remaining(self.amount_due, self.amount_paid)


class ApplicationSession(TenantResource):
    """An insurance application. The ApplicationWorkflow (``application-<id>``) owns the process; this row
    mirrors it for lists and reports, and keeps what the contractor entered."""

    ID_KIND = "application_session"
    __tablename__ = "application_sessions"
    __table_args__ = (
        Index("ix_application_sessions_tenant", "organization_id", "environment"),
        Index("ix_application_sessions_undispatched", "dispatched", "created"),
        Index("ix_application_sessions_open", "status", "expires_at"),  # the reminder sweep's
    )

    token: Mapped[str] = mapped_column(String(64), unique=True)
    contractor_id: Mapped[str] = mapped_column(String(40), index=True)
    quote_id: Mapped[str | None] = mapped_column(String(40))
    job_id: Mapped[str | None] = mapped_column(String(40))
    is_general_opt_in: Mapped[bool] = mapped_column(Boolean, default=False)
    work_state: Mapped[str] = mapped_column(String(2))
    coverage_type: Mapped[list[Any]]
    success_url: Mapped[str] = mapped_column(Text)
    cancel_url: Mapped[str] = mapped_column(Text)
    status: Mapped[Status] = mapped_column(stored_as(Status, 24), default=Status.CREATED)
    step: Mapped[Step] = mapped_column(stored_as(Step, 40), default=Step.VERIFY_INFO)
    premium: Mapped[int] = mapped_column(Int64, default=0)
    withhold_premium: Mapped[bool] = mapped_column(Boolean, default=False)
    expires_at: Mapped[int] = mapped_column(Int64)
    dispatched: Mapped[bool] = mapped_column(Boolean, default=False)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    signature: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    stripe_customer_id: Mapped[str | None] = mapped_column(String(80))
    payment_method_id: Mapped[str | None] = mapped_column(String(80))
    payment_intent_id: Mapped[str | None] = mapped_column(String(80))
    card_summary: Mapped[str | None] = mapped_column(String(80))
    policy_id: Mapped[str | None] = mapped_column(String(40))
    bill_id: Mapped[str | None] = mapped_column(String(40))
    completed_at: Mapped[int | None] = mapped_column(Int64)
    ended_reason: Mapped[str | None] = mapped_column(Text)


class ApplicationReminder(Base):
    """One reminder emailed to a contractor whose application was unfinished. Written in the transaction
    that queues its email, and unique per application and UTC day: a sweep that runs twice, a worker that
    died after the commit, or two workers at once cannot send a second one that day."""

    __tablename__ = "application_reminders"
    __table_args__ = (UniqueConstraint("application_session_id", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organization_id: Mapped[str] = mapped_column(String(40))
    environment: Mapped[str] = mapped_column(String(12))
    application_session_id: Mapped[str] = mapped_column(String(40))
    day: Mapped[str] = mapped_column(String(10))  # YYYY-MM-DD, UTC
    sent_at: Mapped[int] = mapped_column(Int64)  # the sweep's moment
    email_id: Mapped[str] = mapped_column(String(40))


CHARGE_DUE_UNKNOWN = -1  # Assignment.charge_due_at of a row upgraded in its notice window: ask its workflow


class Assignment(TenantResource):
    """Coverage for one job of a repeat contractor. The AssignmentWorkflow (``assignment-<id>``) runs the
    charging; this row mirrors it and records which coverage path was taken and why."""

    ID_KIND = "assignment"
    __tablename__ = "assignments"
    __table_args__ = (
        Index("ix_assignments_tenant", "organization_id", "environment"),
        Index("ix_assignments_tenant_status", "organization_id", "environment", "status"),
        Index("ix_assignments_status", "status", "environment"),
        Index("ix_assignments_undispatched", "dispatched", "created"),
    )

    contractor_id: Mapped[str] = mapped_column(String(40), index=True)
    job_id: Mapped[str] = mapped_column(String(40), index=True)
    policy_id: Mapped[str | None] = mapped_column(String(40))
    application_session_id: Mapped[str | None] = mapped_column(String(40))
    coverage_type: Mapped[list[Any]]
    effective_date: Mapped[int] = mapped_column(Int64)
    end_date: Mapped[int] = mapped_column(Int64)
    bind: Mapped[bool] = mapped_column(Boolean, default=True)
    coverage_path: Mapped[CoveragePath] = mapped_column(stored_as(CoveragePath, 24))
    eligible_result: Mapped[bool] = mapped_column(Boolean)
    eligible_message: Mapped[str] = mapped_column(Text)
    payer: Mapped[Payer] = mapped_column(stored_as(Payer, 8))
    net_rate: Mapped[int] = mapped_column(Integer)
    premium: Mapped[int] = mapped_column(Int64)
    status: Mapped[AssignmentStatus] = mapped_column(
        stored_as(AssignmentStatus, 24), default=AssignmentStatus.PENDING
    )
    charged: Mapped[int] = mapped_column(Int64, default=0)
    certificates: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    cancellation_date: Mapped[int | None] = mapped_column(Int64)
    cancellation_reason: Mapped[str | None] = mapped_column(String(60))
    dispatched: Mapped[bool] = mapped_column(Boolean, default=False)
    # When the card will be charged (the end of the notice the reminder email gave); None once charged, or
    # for no card charge. CHARGE_DUE_UNKNOWN: in its notice window from before the column existed.
    charge_due_at: Mapped[int | None] = mapped_column(Int64)


class CardLink(Base):
    """A link emailed to a contractor to replace the card of one assignment (``/cards/<token>``): only its
    SHA-256 is kept. It opens nothing else, works until ``expires_at``, saves one card (``used_at``), and
    makes at most a few SetupIntents (``setup_intents``)."""

    __tablename__ = "card_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    assignment_id: Mapped[str] = mapped_column(String(40), index=True)
    created: Mapped[int] = mapped_column(Int64)
    expires_at: Mapped[int] = mapped_column(Int64)
    used_at: Mapped[int | None] = mapped_column(Int64)
    setup_intents: Mapped[int] = mapped_column(Integer, default=0)


class InsuranceRequirement(TenantResource):
    """What an organization requires of the certificates its contractors bring (domain.certificates
    RequirementRules, as JSON). One is the default; others apply to the jobs of some entities or some job
    category codes."""

    ID_KIND = "insurance_requirement"
    __tablename__ = "insurance_requirements"
    __table_args__ = (Index("ix_insurance_requirements_tenant", "organization_id", "environment"),)

    name: Mapped[str] = mapped_column(String(200))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    rules: Mapped[dict[str, Any]]
    entity_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    category_codes: Mapped[list[Any]] = mapped_column(JSON, default=list)


class Certificate(TenantResource):
    """A certificate of insurance a contractor brought (``ci_…``), its PDF kept as a Document, and its
    review: what was read (``parsed``), one result per rule (``review``), and a reviewer's decision."""

    ID_KIND = "certificate"
    __tablename__ = "certificates"
    __table_args__ = (
        Index("ix_certificates_tenant_contractor", "organization_id", "environment", "contractor_id"),
        Index("ix_certificates_tenant_status", "organization_id", "environment", "status"),
        # the same file for the same contractor is one review
        Index(
            "uq_certificates_tenant_file",
            "organization_id",
            "environment",
            "contractor_id",
            "sha256",
            unique=True,
        ),
        Index("ix_certificates_undispatched", "dispatched", "created"),
    )

    contractor_id: Mapped[str] = mapped_column(String(40))
    status: Mapped[CertificateStatus] = mapped_column(
        stored_as(CertificateStatus, 12), default=CertificateStatus.PENDING
    )
    filename: Mapped[str] = mapped_column(String(200))
    document_id: Mapped[str] = mapped_column(String(40))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Int64)
    source: Mapped[str] = mapped_column(String(12), default="api")  # api, hosted (the contractor's page)
    requirement_id: Mapped[str | None] = mapped_column(String(40))
    assignment_id: Mapped[str | None] = mapped_column(String(40))
    parsed: Mapped[dict[str, Any] | None]
    review: Mapped[list[Any] | None]
    error: Mapped[str | None] = mapped_column(Text)  # why the file could not be read
    processed_at: Mapped[int | None] = mapped_column(Int64)
    coverage_ends: Mapped[int | None] = mapped_column(Int64)  # the first required policy's expiry (unix)
    decided_by: Mapped[str | None] = mapped_column(String(320))
    decided_at: Mapped[int | None] = mapped_column(Int64)
    decision_reason: Mapped[str | None] = mapped_column(Text)
    superseded_by: Mapped[str | None] = mapped_column(String(40))  # a newer upload for the contractor
    lapsed_at: Mapped[int | None] = mapped_column(Int64)  # when its coverage ended without a renewal
    dispatched: Mapped[bool] = mapped_column(Boolean, default=False)  # its review workflow was started


class CertificateLink(Base):
    """A link emailed to a contractor to upload their own certificate (``/certificates/<token>``): only its
    SHA-256 is kept; it works until ``expires_at`` for one contractor of one organization's environment."""

    __tablename__ = "certificate_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    organization_id: Mapped[str] = mapped_column(String(40))
    environment: Mapped[str] = mapped_column(String(12))
    contractor_id: Mapped[str] = mapped_column(String(40), index=True)
    created: Mapped[int] = mapped_column(Int64)
    expires_at: Mapped[int] = mapped_column(Int64)
    uploads: Mapped[int] = mapped_column(Integer, default=0)


class Invoice(TenantResource):
    """Reported pay for an assignment. The newest invoice is the final pay; earlier open ones are voided."""

    ID_KIND = "invoice"
    __tablename__ = "invoices"
    __table_args__ = (Index("ix_invoices_tenant", "organization_id", "environment"),)

    contractor_id: Mapped[str] = mapped_column(String(40), index=True)
    job_id: Mapped[str] = mapped_column(String(40), index=True)
    assignment_id: Mapped[str] = mapped_column(String(40), index=True)
    gross_pay: Mapped[int] = mapped_column(Int64)
    paycycle_startdate: Mapped[int] = mapped_column(Int64)
    paycycle_enddate: Mapped[int] = mapped_column(Int64)
    purchase_order_number: Mapped[str | None] = mapped_column(String(100))
    premium_due: Mapped[int] = mapped_column(Int64)
    status: Mapped[InvoiceStatus] = mapped_column(stored_as(InvoiceStatus, 12), default=InvoiceStatus.OPEN)
    paid_at: Mapped[int | None] = mapped_column(Int64)
    voided_at: Mapped[int | None] = mapped_column(Int64)


class PremiumAdjustment(Base):
    """A premium change the API committed for an assignment's workflow, kept like an outbox row: the API
    sends it as an Update right after the commit, and the outbox sweep re-sends any whose sender died before
    the workflow heard it. ``id`` orders them: the workflow ignores one older than the last it took."""

    __tablename__ = "premium_adjustments"
    __table_args__ = (Index("ix_premium_adjustments_unsent", "dispatched", "created"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    assignment_id: Mapped[str] = mapped_column(String(40))
    invoice_key: Mapped[str] = mapped_column(String(120))
    premium: Mapped[int] = mapped_column(Int64)
    created: Mapped[int] = mapped_column(Int64)
    dispatched: Mapped[bool] = mapped_column(Boolean, default=False)


class CardUpdate(Base):
    """A new card the contractor saved in the portal, for one assignment whose charge waits for a card: kept
    like an outbox row in the card's own transaction. The request signals CARD_UPDATED right after its commit;
    the outbox sweep re-sends any it could not (Temporal briefly unreachable, the process gone)."""

    __tablename__ = "card_updates"
    __table_args__ = (Index("ix_card_updates_unsent", "dispatched", "created"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    assignment_id: Mapped[str] = mapped_column(String(40))
    payment_method_id: Mapped[str] = mapped_column(String(80))
    created: Mapped[int] = mapped_column(Int64)
    dispatched: Mapped[bool] = mapped_column(Boolean, default=False)


class CreatorIQConnection(TenantResource):
    """An organization's CreatorIQ API key (per environment) and how its creators become applications.

    The key is needed in full to call CreatorIQ and to check its webhook signatures, so it is stored,
    encrypted (db/sealed.py); the API only ever shows ``api_key_hint``. ``id`` names the connection in the
    webhook callback URL."""

    ID_KIND = "creatoriq_connection"
    __tablename__ = "creatoriq_connections"
    __table_args__ = (UniqueConstraint("organization_id", "environment"),)

    api_key: Mapped[str] = mapped_column(SealedText)
    api_key_hint: Mapped[str] = mapped_column(String(20))
    category_code: Mapped[str] = mapped_column(String(80))
    coverage_type: Mapped[list[Any]]
    entity_id: Mapped[str | None] = mapped_column(String(40))
    webhooks_subscribed: Mapped[bool] = mapped_column(Boolean, default=False)
    success_url: Mapped[str | None] = mapped_column(Text)
    cancel_url: Mapped[str | None] = mapped_column(Text)
    last_polled_at: Mapped[int | None] = mapped_column(Int64)


class CreatorIQCreator(TenantResource):
    """One CreatorIQ creator on one campaign and what its last sync made of it: the link that keeps the
    sync idempotent (the same creator never becomes two contractors) and the place its failures show."""

    ID_KIND = "creatoriq_creator"
    __tablename__ = "creatoriq_creators"
    __table_args__ = (
        UniqueConstraint("organization_id", "environment", "campaign_id", "publisher_id"),
        Index("ix_creatoriq_creators_tenant_status", "organization_id", "environment", "status"),
        Index("ix_creatoriq_creators_status", "status", "environment"),
    )

    campaign_id: Mapped[int] = mapped_column(Integer)
    publisher_id: Mapped[int] = mapped_column(Integer, index=True)
    status: Mapped[CreatorSyncStatus] = mapped_column(stored_as(CreatorSyncStatus, 12))
    reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    contractor_id: Mapped[str | None] = mapped_column(String(40))
    job_id: Mapped[str | None] = mapped_column(String(40))
    quote_id: Mapped[str | None] = mapped_column(String(40))
    application_session_id: Mapped[str | None] = mapped_column(String(40))
    terms_fingerprint: Mapped[str | None] = mapped_column(String(64))
    sync_count: Mapped[int] = mapped_column(Integer, default=0)
    last_synced_at: Mapped[int | None] = mapped_column(Int64)


class PortalLink(Base):
    """A one-time sign-in link to the contractor portal, emailed to ``email``: only its SHA-256 is kept. It
    works until ``expires_at`` and signs in once (``used_at``, set by one atomic update)."""

    __tablename__ = "portal_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(320))  # lower-cased, trimmed
    created: Mapped[int] = mapped_column(Int64)
    expires_at: Mapped[int] = mapped_column(Int64)
    used_at: Mapped[int | None] = mapped_column(Int64)


class PortalSession(Base):
    """A browser signed in to the contractor portal as ``email``. The cookie holds the token; only its hash is
    kept, so signing out (``ended_at``) or ``expires_at`` ends it whatever the browser still holds."""

    __tablename__ = "portal_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(320), index=True)
    created: Mapped[int] = mapped_column(Int64)
    expires_at: Mapped[int] = mapped_column(Int64)
    ended_at: Mapped[int | None] = mapped_column(Int64)
    setup_intents: Mapped[int] = mapped_column(Integer, default=0)  # card setups asked for: a few at most


class Payment(Base):
    """One Stripe PaymentIntent (or refund) per (workflow, step, revision) key: the project's own idempotency,
    because real Stripe forgets keys after 24 hours. Written before the processor is asked (``charging``,
    ``creating``, ``refunding``); a retry that finds it without an answer asks the processor what the key
    made (the key is in the object's metadata) before asking again."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    payment_intent_id: Mapped[str | None] = mapped_column(String(80))
    amount: Mapped[int] = mapped_column(Int64)
    status: Mapped[PaymentStatus] = mapped_column(stored_as(PaymentStatus, 24))
    created: Mapped[int] = mapped_column(Int64)


class IdempotencyRecord(Base):
    """The first response to an idempotency key, per API key (stored as its hash), replayed for 24 hours.
    The response is stored encrypted: some show a secret once (a new API key, a webhook secret)."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("api_key_hash", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    api_key_hash: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(255))
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(Text)
    request_hash: Mapped[str] = mapped_column(String(64))
    created: Mapped[int] = mapped_column(Int64)
    status_code: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(SealedText)


# The dashboard: the organization's people, their sign-ins and what they changed -------------------------


class Member(Base):
    """A person of an organization who signs in to the dashboard. ``password_hash`` (argon2) is empty until
    the invitation is accepted; a removed member keeps the row (the audit log names them)."""

    __tablename__ = "members"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(12))
    password_hash: Mapped[str | None] = mapped_column(Text)
    created: Mapped[int] = mapped_column(Int64)
    last_sign_in_at: Mapped[int | None] = mapped_column(Int64)
    removed_at: Mapped[int | None] = mapped_column(Int64)

    @property
    def address(self) -> str:
        """The email as the team shows it: without the mark a held invitation's or a removed member's
        email carries (services/members.py)."""
        return self.email.split("#", 1)[0]


class MemberToken(Base):
    """A one-use link emailed to a member: an invitation or a password reset. Only its SHA-256 is kept."""

    __tablename__ = "member_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(12))
    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"), index=True)
    created: Mapped[int] = mapped_column(Int64)
    expires_at: Mapped[int] = mapped_column(Int64)
    used_at: Mapped[int | None] = mapped_column(Int64)


class MemberSession(Base):
    """A signed-in browser. The cookie holds the token; the server keeps its hash, so signing out (or an idle
    timeout, or removing the member) ends it here, whatever the browser still holds."""

    __tablename__ = "member_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"), index=True)
    environment: Mapped[str] = mapped_column(String(12))
    ip_address: Mapped[str] = mapped_column(String(64), default="")
    created: Mapped[int] = mapped_column(Int64)
    last_seen_at: Mapped[int] = mapped_column(Int64)
    ended_at: Mapped[int | None] = mapped_column(Int64)


class ResetRequest(Base):
    """A password reset asked for, by address (whether or not the account exists): what its limit counts."""

    __tablename__ = "reset_requests"
    __table_args__ = (Index("ix_reset_requests_ip_at", "ip_address", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ip_address: Mapped[str] = mapped_column(String(64))
    at: Mapped[int] = mapped_column(Int64)


class SignInAttempt(Base):
    """Every sign-in try, recorded before its password is checked, by account and by address: what the
    throttle counts (a right password clears its account's tries; a refused try is taken back)."""

    __tablename__ = "sign_in_attempts"
    __table_args__ = (
        Index("ix_sign_in_attempts_email_at", "email", "at"),
        Index("ix_sign_in_attempts_ip_at", "ip_address", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(320))
    ip_address: Mapped[str] = mapped_column(String(64))
    at: Mapped[int] = mapped_column(Int64)


class AuditEntry(Base):
    """One change made in the dashboard (or to an API key): who, what, when, from which address."""

    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_entries_org_at", "organization_id", "at"),
        Index("ix_audit_entries_org_action_target", "organization_id", "action", "target"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"))
    environment: Mapped[str | None] = mapped_column(String(12))
    member_id: Mapped[str | None] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(80))
    target: Mapped[str] = mapped_column(String(120), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ip_address: Mapped[str] = mapped_column(String(64), default="")
    at: Mapped[int] = mapped_column(Int64)


class RateCounter(Base):
    """A counter that every API process shares: requests of one API key, or unknown hosted-page links asked
    for by one address, in the current window (api/throttle.py)."""

    __tablename__ = "rate_counters"

    bucket: Mapped[str] = mapped_column(String(120), primary_key=True)
    window_start: Mapped[int] = mapped_column(Int64)
    count: Mapped[int] = mapped_column(Integer)


class RatePace(Base):
    """When the next request of one bucket (a CreatorIQ API key, by its hash) may go out, shared by every
    process on the database: each request takes the next slot with one atomic upsert."""

    __tablename__ = "rate_paces"

    bucket: Mapped[str] = mapped_column(String(80), primary_key=True)
    next_at_ms: Mapped[int] = mapped_column(BigInteger)
