"""email_messages.sealed_message: the stored copy of an email shows no capability link; reset_requests

Emails already recorded lose theirs here: a sent (or failed) email's links are replaced by the withheld
mark; an email still waiting to go keeps its message as sent sealed (encrypted, common/encryption.py) until
it is delivered. Invitations and password resets move to the ``staff`` environment, which no tenant's list,
page or API is scoped to. ``reset_requests`` counts password resets asked for, per address.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 14:00:00
"""

import json
import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from common.encryption import box

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WITHHELD = "(link sent to the recipient only)"
STAFF_KINDS = ("member_invitation", "password_reset")
# The capability links emails carried: applications, card pages, files, invitations, resets.
LINK = re.compile(
    r"https?://[^\s\"'<>]+/(?:apply|cards|files|dashboard/invitation|dashboard/reset)/[^\s\"'<>]+"
)


def upgrade() -> None:
    op.create_table(
        "reset_requests",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ip_address", sa.String(length=64), nullable=False),
        sa.Column("at", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_reset_requests_ip_at", "reset_requests", ["ip_address", "at"])
    with op.batch_alter_table("email_messages") as table:
        table.add_column(sa.Column("sealed_message", sa.Text(), nullable=True))
    emails = sa.table(
        "email_messages",
        sa.column("seq", sa.Integer),
        sa.column("kind", sa.String),
        sa.column("environment", sa.String),
        sa.column("status", sa.String),
        sa.column("text_body", sa.Text),
        sa.column("html_body", sa.Text),
        sa.column("sealed_message", sa.Text),
    )
    op.execute(emails.update().where(emails.c.kind.in_(STAFF_KINDS)).values(environment="staff"))
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(emails.c.seq, emails.c.status, emails.c.text_body, emails.c.html_body)
    ).all()
    for seq, status, text_body, html_body in rows:
        if not (LINK.search(text_body) or LINK.search(html_body)):
            continue
        sealed = None
        if status == "pending":
            sealed = box().seal(json.dumps({"text": text_body, "html": html_body}))
        connection.execute(
            emails.update()
            .where(emails.c.seq == seq)
            .values(
                text_body=LINK.sub(WITHHELD, text_body),
                html_body=LINK.sub(WITHHELD, html_body),
                sealed_message=sealed,
            )
        )


def downgrade() -> None:
    emails = sa.table(
        "email_messages",
        sa.column("seq", sa.Integer),
        sa.column("kind", sa.String),
        sa.column("environment", sa.String),
        sa.column("text_body", sa.Text),
        sa.column("html_body", sa.Text),
        sa.column("sealed_message", sa.Text),
    )
    op.execute(emails.update().where(emails.c.kind.in_(STAFF_KINDS)).values(environment="production"))
    connection = op.get_bind()
    waiting = sa.select(emails.c.seq, emails.c.sealed_message).where(emails.c.sealed_message.is_not(None))
    for seq, sealed in connection.execute(waiting).all():  # an email not sent yet goes with its links
        message = json.loads(box().open(sealed))
        connection.execute(
            emails.update()
            .where(emails.c.seq == seq)
            .values(text_body=message["text"], html_body=message["html"])
        )
    with op.batch_alter_table("email_messages") as table:
        table.drop_column("sealed_message")
    op.drop_index("ix_reset_requests_ip_at", table_name="reset_requests")
    op.drop_table("reset_requests")
