"""The contractor portal: one-time sign-in links and signed-in sessions, both kept only as a SHA-256 of their
token, and keyed by the email address the contractor records share (across organizations).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 23:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

Int64 = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "portal_links",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("created", Int64, nullable=False),
        sa.Column("expires_at", Int64, nullable=False),
        sa.Column("used_at", Int64, nullable=True),
    )
    op.create_table(
        "portal_sessions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("created", Int64, nullable=False),
        sa.Column("expires_at", Int64, nullable=False),
        sa.Column("ended_at", Int64, nullable=True),
        sa.Column("setup_intents", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_index("ix_portal_sessions_email", "portal_sessions", ["email"])


def downgrade() -> None:
    op.drop_index("ix_portal_sessions_email", "portal_sessions")
    op.drop_table("portal_sessions")
    op.drop_table("portal_links")
