"""the dashboard: members, their invitation and reset links, sessions, failed sign-ins, the audit log

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "members",
        sa.Column("id", sa.String(length=40), primary_key=True),
        sa.Column("organization_id", sa.String(length=40), sa.ForeignKey("organizations.id"), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False, unique=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=12), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=True),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("last_sign_in_at", sa.Integer(), nullable=True),
        sa.Column("removed_at", sa.Integer(), nullable=True),
    )
    op.create_index("ix_members_organization_id", "members", ["organization_id"])
    op.create_table(
        "member_tokens",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("token_hash", sa.String(length=64), nullable=False, unique=True),
        sa.Column("purpose", sa.String(length=12), nullable=False),
        sa.Column("member_id", sa.String(length=40), sa.ForeignKey("members.id"), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.Integer(), nullable=False),
        sa.Column("used_at", sa.Integer(), nullable=True),
    )
    op.create_index("ix_member_tokens_member_id", "member_tokens", ["member_id"])
    op.create_table(
        "member_sessions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("token_hash", sa.String(length=64), nullable=False, unique=True),
        sa.Column("member_id", sa.String(length=40), sa.ForeignKey("members.id"), nullable=False),
        sa.Column("environment", sa.String(length=12), nullable=False),
        sa.Column("ip_address", sa.String(length=64), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("last_seen_at", sa.Integer(), nullable=False),
        sa.Column("ended_at", sa.Integer(), nullable=True),
    )
    op.create_index("ix_member_sessions_member_id", "member_sessions", ["member_id"])
    op.create_table(
        "sign_in_attempts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("ip_address", sa.String(length=64), nullable=False),
        sa.Column("at", sa.Integer(), nullable=False),
    )
    op.create_index("ix_sign_in_attempts_email_at", "sign_in_attempts", ["email", "at"])
    op.create_index("ix_sign_in_attempts_ip_at", "sign_in_attempts", ["ip_address", "at"])
    op.create_table(
        "audit_entries",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("organization_id", sa.String(length=40), sa.ForeignKey("organizations.id"), nullable=False),
        sa.Column("environment", sa.String(length=12), nullable=True),
        sa.Column("member_id", sa.String(length=40), nullable=True),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("action", sa.String(length=80), nullable=False),
        sa.Column("target", sa.String(length=120), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("ip_address", sa.String(length=64), nullable=False),
        sa.Column("at", sa.Integer(), nullable=False),
    )
    op.create_index("ix_audit_entries_org_at", "audit_entries", ["organization_id", "at"])


def downgrade() -> None:
    for table in ("audit_entries", "sign_in_attempts", "member_sessions", "member_tokens", "members"):
        op.drop_table(table)
