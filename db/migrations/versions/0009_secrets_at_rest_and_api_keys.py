"""secrets at rest, rotatable webhook secrets, named API keys that roll and expire, shared rate counters

CreatorIQ API keys and webhook signing secrets already stored in plain text are encrypted here, with the
keys of GIGCOVER_ENCRYPTION_KEYS (common/encryption.py). Existing API keys get a public id.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from common.encryption import box
from common.ids import new_id
from db.sealed import reseal_all

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("public_id", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("name", sa.String(length=100), server_default="", nullable=False))
        batch_op.add_column(sa.Column("last_used_at", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("expires_at", sa.Integer(), nullable=True))
    keys = sa.table("api_keys", sa.column("id", sa.Integer()), sa.column("public_id", sa.String()))
    connection = op.get_bind()
    for (key_id,) in connection.execute(sa.select(keys.c.id)).all():
        connection.execute(sa.update(keys).where(keys.c.id == key_id).values(public_id=new_id("api_key")))
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.alter_column("public_id", existing_type=sa.String(length=40), nullable=False)
        batch_op.create_unique_constraint("uq_api_keys_public_id", ["public_id"])

    with op.batch_alter_table("webhook_endpoints", schema=None) as batch_op:
        batch_op.alter_column("secret", existing_type=sa.String(length=80), type_=sa.Text(), nullable=False)
        batch_op.add_column(sa.Column("previous_secret", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("previous_secret_expires_at", sa.Integer(), nullable=True))

    op.create_table(
        "rate_counters",
        sa.Column("bucket", sa.String(length=120), nullable=False),
        sa.Column("window_start", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("bucket"),
    )

    sealed_here = {  # the columns this revision made sealed (a later one seals its own, once they fit)
        "webhook_endpoints": ("seq", ("secret", "previous_secret")),
        "creatoriq_connections": ("seq", ("api_key",)),
        "idempotency_records": ("id", ("response_body",)),
    }
    reseal_all(connection, box(), only_plain_text=True, columns=sealed_here)


def downgrade() -> None:
    connection = op.get_bind()
    secrets = box()
    endpoints = sa.table("webhook_endpoints", sa.column("seq", sa.Integer()), sa.column("secret", sa.Text()))
    for seq, stored in connection.execute(sa.select(endpoints.c.seq, endpoints.c.secret)).all():
        connection.execute(
            sa.update(endpoints).where(endpoints.c.seq == seq).values(secret=secrets.open(stored))
        )
    connections = sa.table(
        "creatoriq_connections", sa.column("seq", sa.Integer()), sa.column("api_key", sa.Text())
    )
    for seq, stored in connection.execute(sa.select(connections.c.seq, connections.c.api_key)).all():
        connection.execute(
            sa.update(connections).where(connections.c.seq == seq).values(api_key=secrets.open(stored))
        )
    op.drop_table("rate_counters")
    with op.batch_alter_table("webhook_endpoints", schema=None) as batch_op:
        batch_op.drop_column("previous_secret_expires_at")
        batch_op.drop_column("previous_secret")
        batch_op.alter_column("secret", existing_type=sa.Text(), type_=sa.String(length=80), nullable=False)
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_constraint("uq_api_keys_public_id", type_="unique")
        batch_op.drop_column("expires_at")
        batch_op.drop_column("last_used_at")
        batch_op.drop_column("name")
        batch_op.drop_column("public_id")
