"""Times and amounts become 64-bit: coverage can end after 2038-01-19 and rows can be created after it.

On PostgreSQL every time (unix seconds) and amount (cents) column becomes BIGINT, values kept. SQLite's
INTEGER already stores 64 bits whatever the declared type, so there nothing changes (the models declare it
INTEGER there, BIGINT elsewhere). Counts, status codes, rates and CreatorIQ's ids stay 32-bit.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS: dict[str, tuple[str, ...]] = {
    "api_keys": (
        "created",
        "last_used_at",
        "expires_at",
        "revoked_at",
    ),
    "application_sessions": (
        "premium",
        "expires_at",
        "completed_at",
        "created",
        "deleted_at",
    ),
    "assignments": (
        "effective_date",
        "end_date",
        "premium",
        "charged",
        "cancellation_date",
        "charge_due_at",
        "created",
        "deleted_at",
    ),
    "audit_entries": ("at",),
    "bills": (
        "amount_due",
        "bill_date",
        "due_date",
        "amount_paid",
        "paid_at",
        "created",
        "deleted_at",
    ),
    "category_approvals": ("approved_at",),
    "category_rates": (
        "stamping_fee",
        "risk_purchasing_group_fee",
    ),
    "contractors": (
        "created",
        "deleted_at",
    ),
    "creatoriq_connections": (
        "last_polled_at",
        "created",
        "deleted_at",
    ),
    "creatoriq_creators": (
        "last_synced_at",
        "created",
        "deleted_at",
    ),
    "documents": (
        "size",
        "created",
        "deleted_at",
    ),
    "email_messages": (
        "sent_at",
        "created",
        "deleted_at",
    ),
    "entities": (
        "created",
        "deleted_at",
    ),
    "events": (
        "created",
        "deleted_at",
    ),
    "idempotency_records": ("created",),
    "invoices": (
        "gross_pay",
        "paycycle_startdate",
        "paycycle_enddate",
        "premium_due",
        "paid_at",
        "voided_at",
        "created",
        "deleted_at",
    ),
    "jobs": (
        "wage",
        "created",
        "deleted_at",
    ),
    "member_sessions": (
        "created",
        "last_seen_at",
        "ended_at",
    ),
    "member_tokens": (
        "created",
        "expires_at",
        "used_at",
    ),
    "members": (
        "created",
        "last_sign_in_at",
        "removed_at",
    ),
    "organizations": ("created",),
    "payments": (
        "amount",
        "created",
    ),
    "policies": (
        "effective_date",
        "expiration_date",
        "cancelled_at",
        "created",
        "deleted_at",
    ),
    "premium_adjustments": (
        "premium",
        "created",
    ),
    "quotes": (
        "effective_date",
        "end_date",
        "estimated_gross_pay",
        "premium_due",
        "created",
        "deleted_at",
    ),
    "rate_counters": ("window_start",),
    "sign_in_attempts": ("at",),
    "webhook_deliveries": (
        "delivered_at",
        "failed_at",
        "created",
        "deleted_at",
    ),
    "webhook_endpoints": (
        "previous_secret_expires_at",
        "created",
        "deleted_at",
    ),
}


def _alter(to: sa.types.TypeEngine[int], existing: sa.types.TypeEngine[int]) -> None:
    if op.get_bind().dialect.name == "sqlite":
        return  # INTEGER is already 64-bit storage there
    for table, columns in COLUMNS.items():
        for column in columns:
            op.alter_column(table, column, type_=to, existing_type=existing)


def upgrade() -> None:
    _alter(sa.BigInteger(), sa.Integer())


def downgrade() -> None:
    _alter(sa.Integer(), sa.BigInteger())
