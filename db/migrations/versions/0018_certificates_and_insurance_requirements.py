"""Certificates contractors bring, the insurance requirements they are reviewed against, upload links

insurance_requirements: an organization's named requirements (rules as JSON), one the default, others for
some entities or job category codes. certificates: each uploaded certificate of insurance (``ci_…``), its
PDF a document, what was read and each rule's result. certificate_links: the links emailed to contractors
to upload their own (only a SHA-256 of the token is kept).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 20:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Int64 = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _tenant_columns() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(40), nullable=False, unique=True),
        sa.Column("organization_id", sa.String(40), sa.ForeignKey("organizations.id"), nullable=False),
        sa.Column("environment", sa.String(12), nullable=False),
        sa.Column("created", Int64, nullable=False),
        sa.Column("deleted_at", Int64, nullable=True),
    ]


def upgrade() -> None:
    op.create_table(
        "insurance_requirements",
        *_tenant_columns(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("entity_ids", sa.JSON(), nullable=False),
        sa.Column("category_codes", sa.JSON(), nullable=False),
    )
    op.create_index(
        "ix_insurance_requirements_tenant", "insurance_requirements", ["organization_id", "environment"]
    )
    op.create_table(
        "certificates",
        *_tenant_columns(),
        sa.Column("contractor_id", sa.String(40), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("filename", sa.String(200), nullable=False),
        sa.Column("document_id", sa.String(40), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", Int64, nullable=False),
        sa.Column("source", sa.String(12), nullable=False),
        sa.Column("requirement_id", sa.String(40), nullable=True),
        sa.Column("assignment_id", sa.String(40), nullable=True),
        sa.Column("parsed", sa.JSON(), nullable=True),
        sa.Column("review", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("processed_at", Int64, nullable=True),
        sa.Column("coverage_ends", Int64, nullable=True),
        sa.Column("decided_by", sa.String(320), nullable=True),
        sa.Column("decided_at", Int64, nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("superseded_by", sa.String(40), nullable=True),
        sa.Column("lapsed_at", Int64, nullable=True),
    )
    op.create_index(
        "ix_certificates_tenant_contractor",
        "certificates",
        ["organization_id", "environment", "contractor_id"],
    )
    op.create_index(
        "ix_certificates_tenant_status", "certificates", ["organization_id", "environment", "status"]
    )
    op.create_index(
        "uq_certificates_tenant_file",
        "certificates",
        ["organization_id", "environment", "contractor_id", "sha256"],
        unique=True,
    )
    op.create_table(
        "certificate_links",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("organization_id", sa.String(40), nullable=False),
        sa.Column("environment", sa.String(12), nullable=False),
        sa.Column("contractor_id", sa.String(40), nullable=False),
        sa.Column("created", Int64, nullable=False),
        sa.Column("expires_at", Int64, nullable=False),
        sa.Column("uploads", sa.Integer(), nullable=False),
    )
    op.create_index("ix_certificate_links_contractor_id", "certificate_links", ["contractor_id"])


def downgrade() -> None:
    op.drop_table("certificate_links")
    op.drop_table("certificates")
    op.drop_table("insurance_requirements")
