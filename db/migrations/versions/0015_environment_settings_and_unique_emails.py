"""organizations.sandbox_withhold_premium: who pays by default is a setting of each environment (the sandbox
can try both flows without touching production's); it starts as the organization's current value, which
stays production's. contractors.email_key: the contractor's email, lower-cased and trimmed, unique per
organization and environment among contractors not deleted, so two requests racing with one email cannot
both create a contractor. Where earlier releases let duplicates in, the oldest contractor keeps the key and
the others keep their rows and email unchanged (with no key), so nothing is lost.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "uq_contractors_tenant_email_key"


def upgrade() -> None:
    # Plain ADD COLUMN and CREATE INDEX (SQLite has both): no table is rebuilt, so the rows other tables
    # reference by foreign key stay where they are.
    op.add_column(
        "organizations",
        sa.Column("sandbox_withhold_premium", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    organizations = sa.table(
        "organizations",
        sa.column("withhold_premium", sa.Boolean),
        sa.column("sandbox_withhold_premium", sa.Boolean),
    )
    op.execute(organizations.update().values(sandbox_withhold_premium=organizations.c.withhold_premium))

    op.add_column("contractors", sa.Column("email_key", sa.String(320), nullable=True))
    contractors = sa.table(
        "contractors",
        sa.column("seq", sa.Integer),
        sa.column("organization_id", sa.String),
        sa.column("environment", sa.String),
        sa.column("email", sa.String),
        sa.column("email_key", sa.String),
        sa.column("deleted_at", sa.Integer),
    )
    connection = op.get_bind()
    c = contractors.c
    rows = connection.execute(
        sa.select(c.seq, c.organization_id, c.environment, c.email)
        .where(contractors.c.deleted_at.is_(None))
        .order_by(contractors.c.seq)
    )
    keyed: set[tuple[str, str, str]] = set()
    for seq, organization_id, environment, email in rows.all():
        key = (email or "").strip().lower()
        if not key or (organization_id, environment, key) in keyed:
            continue  # a duplicate from before: it keeps its row and email, without the key
        keyed.add((organization_id, environment, key))
        connection.execute(contractors.update().where(contractors.c.seq == seq).values(email_key=key))
    op.create_index(INDEX, "contractors", ["organization_id", "environment", "email_key"], unique=True)


def downgrade() -> None:
    op.drop_index(INDEX, "contractors")
    with op.batch_alter_table("contractors") as table:
        table.drop_column("email_key")
    with op.batch_alter_table("organizations") as table:
        table.drop_column("sandbox_withhold_premium")
