"""card_links: the capability of the update-card page, one per email that carries it (only its SHA-256
is stored); the assignment's id no longer opens the page.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 13:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INT64 = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # times, as every other time column


def upgrade() -> None:
    op.create_table(
        "card_links",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("token_hash", sa.String(length=64), nullable=False, unique=True),
        sa.Column("assignment_id", sa.String(length=40), nullable=False),
        sa.Column("created", INT64, nullable=False),
        sa.Column("expires_at", INT64, nullable=False),
        sa.Column("used_at", INT64, nullable=True),
        sa.Column("setup_intents", sa.Integer(), nullable=False),
    )
    op.create_index("ix_card_links_assignment_id", "card_links", ["assignment_id"])


def downgrade() -> None:
    op.drop_index("ix_card_links_assignment_id", table_name="card_links")
    op.drop_table("card_links")
