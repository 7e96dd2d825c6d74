"""The audit trail: who did what, when, from where, with what outcome.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer, "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(320), nullable=True),
        sa.Column("source", sa.String(255), nullable=False),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("prefix", sa.String(64), nullable=True),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
    )
    # Retention deletes and time filters by `at`; an enterprise's view walks its prefix newest first.
    op.create_index("ix_audit_at", "audit", ["at"])
    op.create_index("ix_audit_prefix_id", "audit", ["prefix", "id"])


def downgrade() -> None:
    op.drop_index("ix_audit_prefix_id", table_name="audit")
    op.drop_index("ix_audit_at", table_name="audit")
    op.drop_table("audit")
