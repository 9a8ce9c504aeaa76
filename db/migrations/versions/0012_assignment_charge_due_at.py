"""assignments.charge_due_at: when the card will be charged, stored by the step that sends the reminder (so
reading an assignment needs no Query to its workflow). Rows already in their notice window get
CHARGE_DUE_UNKNOWN (-1): their due time is only in their workflow, which is asked until they are charged.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 15:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("assignments") as table:
        table.add_column(sa.Column("charge_due_at", sa.Integer(), nullable=True))
    assignments = sa.table(
        "assignments",
        sa.column("charge_due_at", sa.Integer),
        sa.column("status", sa.String),
        sa.column("payer", sa.String),
        sa.column("charged", sa.Integer),
        sa.column("cancelled", sa.Boolean),
        sa.column("dispatched", sa.Boolean),
    )
    op.execute(
        assignments.update()
        .where(
            assignments.c.status == "pending",
            assignments.c.payer == "card",
            assignments.c.charged == 0,
            assignments.c.cancelled.is_(False),
            assignments.c.dispatched.is_(True),
        )
        .values(charge_due_at=-1)
    )


def downgrade() -> None:
    with op.batch_alter_table("assignments") as table:
        table.drop_column("charge_due_at")
