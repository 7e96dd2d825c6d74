"""Data templates, SNMS users, and the template an identifier was registered with.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "templates",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("prefix", sa.String(64), nullable=False),
        sa.Column("version", sa.String(128), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.UniqueConstraint("prefix", "version", name="uq_templates_prefix"),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(50), nullable=False),
        sa.Column(
            "enterprise_id",
            sa.Integer,
            sa.ForeignKey("enterprises.id", name="fk_users_enterprise_id_enterprises"),
            nullable=False,
        ),
        sa.Column("acts_as", sa.String(64), nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("verifier", sa.Text, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.UniqueConstraint("username", name="uq_users_username"),
    )
    with op.batch_alter_table("handles") as batch:
        batch.add_column(sa.Column("template_version", sa.String(128), nullable=True))
    op.create_index("ix_handles_template", "handles", ["prefix", "template_version"])


def downgrade() -> None:
    op.drop_index("ix_handles_template", table_name="handles")
    with op.batch_alter_table("handles") as batch:
        batch.drop_column("template_version")
    op.drop_table("users")
    op.drop_table("templates")
