"""bills: payments recorded against them (amount paid, when, the organization's reference)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("bills", schema=None) as batch_op:
        batch_op.add_column(sa.Column("amount_paid", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("paid_at", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("payment_reference", sa.String(length=200), nullable=True))
        batch_op.create_index("ix_bills_status_due", ["status", "due_date"], unique=False)
    with op.batch_alter_table("policies", schema=None) as batch_op:
        batch_op.create_index("ix_policies_status_expiration", ["status", "expiration_date"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("policies", schema=None) as batch_op:
        batch_op.drop_index("ix_policies_status_expiration")
    with op.batch_alter_table("bills", schema=None) as batch_op:
        batch_op.drop_index("ix_bills_status_due")
        batch_op.drop_column("payment_reference")
        batch_op.drop_column("paid_at")
        batch_op.drop_column("amount_paid")
