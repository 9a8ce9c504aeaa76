"""rate_paces: the next free request slot per CreatorIQ API key, shared by every worker

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 12:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rate_paces",
        sa.Column("bucket", sa.String(length=80), primary_key=True),
        sa.Column("next_at_ms", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("rate_paces")
