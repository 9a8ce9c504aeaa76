"""Certificates go through the outbox: ``dispatched`` turns true once the certificate's review workflow was
started, so an upload whose process died between its commit and the start is picked up by the sweep.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 20:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("certificates") as batch:
        batch.add_column(sa.Column("dispatched", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_index("ix_certificates_undispatched", "certificates", ["dispatched", "created"])


def downgrade() -> None:
    op.drop_index("ix_certificates_undispatched", "certificates")
    with op.batch_alter_table("certificates") as batch:
        batch.drop_column("dispatched")
