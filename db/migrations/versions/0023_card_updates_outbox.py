"""Card updates kept like outbox rows: a new card saved in the contractor portal is told to each assignment
whose charge waits for one, and the outbox sweep re-sends any the request could not deliver.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 00:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Int64 = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "card_updates",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("assignment_id", sa.String(length=40), nullable=False),
        sa.Column("payment_method_id", sa.String(length=80), nullable=False),
        sa.Column("created", Int64, nullable=False),
        sa.Column("dispatched", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("card_updates") as batch:
        batch.create_index("ix_card_updates_unsent", ["dispatched", "created"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("card_updates") as batch:
        batch.drop_index("ix_card_updates_unsent")
    op.drop_table("card_updates")
