"""indexes the dashboard's pages filter on (a contractor's emails, assignments and CreatorIQ creators by
status, audit entries by action and object) and the ones /metrics counts by (status, then environment)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 12:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = [
    ("ix_email_messages_recipient", "email_messages", ["organization_id", "environment", "recipient"]),
    ("ix_assignments_tenant_status", "assignments", ["organization_id", "environment", "status"]),
    ("ix_audit_entries_org_action_target", "audit_entries", ["organization_id", "action", "target"]),
    (
        "ix_creatoriq_creators_tenant_status",
        "creatoriq_creators",
        ["organization_id", "environment", "status"],
    ),
    ("ix_webhook_deliveries_status", "webhook_deliveries", ["status", "environment"]),
    ("ix_email_messages_status", "email_messages", ["status", "environment"]),
    ("ix_assignments_status", "assignments", ["status", "environment"]),
    ("ix_creatoriq_creators_status", "creatoriq_creators", ["status", "environment"]),
]


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
