"""Where a bill's PO contact came from: ``job`` (the job's metadata) or ``organization`` (its billing
contact, when the job names none), so the bill page can say so. Empty for bills issued before.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 23:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("bills") as batch:
        batch.add_column(sa.Column("po_contact_from", sa.String(length=12), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("bills") as batch:
        batch.drop_column("po_contact_from")
