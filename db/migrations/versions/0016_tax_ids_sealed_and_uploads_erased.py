"""tax ids encrypted at rest; uploaded contractor files erased

contractors.tax_identification (an SSN or EIN) becomes a sealed column (db/sealed.py): the column widens to
hold ``fernet:…`` and every tax id already stored in plain text is encrypted here, with the keys of
GIGCOVER_ENCRYPTION_KEYS. documents.erased_at: when a document's file was deleted from the store (an
uploaded contractor CSV, once imported or abandoned); the row stays, without its bytes. An index on
documents (kind, created) lets the lifecycle sweep find old uploads among the certificates and bills.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from common.encryption import box
from db.sealed import Columns, reseal_all

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEALED_HERE: Columns = {"contractors": ("seq", ("tax_identification",))}


def upgrade() -> None:
    with op.batch_alter_table("contractors", schema=None) as batch_op:
        batch_op.alter_column(
            "tax_identification", existing_type=sa.String(length=20), type_=sa.Text(), nullable=True
        )
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("erased_at", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True)
        )
        batch_op.create_index("ix_documents_kind_created", ["kind", "created"], unique=False)
    reseal_all(op.get_bind(), box(), only_plain_text=True, columns=SEALED_HERE)


def downgrade() -> None:
    connection = op.get_bind()
    secrets = box()
    contractors = sa.table(
        "contractors", sa.column("seq", sa.Integer()), sa.column("tax_identification", sa.Text())
    )
    rows = connection.execute(
        sa.select(contractors.c.seq, contractors.c.tax_identification).where(
            contractors.c.tax_identification.is_not(None)
        )
    ).all()
    for seq, stored in rows:
        connection.execute(
            sa.update(contractors)
            .where(contractors.c.seq == seq)
            .values(tax_identification=secrets.open(stored))
        )
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_index("ix_documents_kind_created")
        batch_op.drop_column("erased_at")
    with op.batch_alter_table("contractors", schema=None) as batch_op:
        batch_op.alter_column(
            "tax_identification", existing_type=sa.Text(), type_=sa.String(length=20), nullable=True
        )
