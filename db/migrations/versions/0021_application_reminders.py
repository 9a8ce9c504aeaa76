"""Reminders to contractors whose application is unfinished: after how many days, a setting of each
environment (organizations.application_reminder_days for production, sandbox_application_reminder_days;
null, the default, sends none); application_reminders, one row per reminder sent, unique per application
and UTC day; and an index for the sweep that looks for open applications.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 23:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Int64 = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # Plain ADD COLUMN (nullable, no default): no table is rebuilt.
    op.add_column("organizations", sa.Column("application_reminder_days", sa.Integer(), nullable=True))
    op.add_column(
        "organizations", sa.Column("sandbox_application_reminder_days", sa.Integer(), nullable=True)
    )
    op.create_table(
        "application_reminders",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("organization_id", sa.String(40), nullable=False),
        sa.Column("environment", sa.String(12), nullable=False),
        sa.Column("application_session_id", sa.String(40), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("sent_at", Int64, nullable=False),
        sa.Column("email_id", sa.String(40), nullable=False),
        sa.UniqueConstraint("application_session_id", "day"),
    )
    op.create_index("ix_application_sessions_open", "application_sessions", ["status", "expires_at"])


def downgrade() -> None:
    op.drop_index("ix_application_sessions_open", "application_sessions")
    op.drop_table("application_reminders")
    with op.batch_alter_table("organizations") as table:
        table.drop_column("sandbox_application_reminder_days")
        table.drop_column("application_reminder_days")
