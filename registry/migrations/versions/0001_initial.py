"""The registry's first schema: node, enterprises, prefixes, handles and the change journal.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "node",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "enterprises",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("credit_code", sa.String(18), nullable=False),
        sa.Column("industry", sa.String(16), nullable=False),
        sa.Column("contact", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.UniqueConstraint("credit_code", name="uq_enterprises_credit_code"),
    )
    op.create_table(
        "prefixes",
        sa.Column("prefix", sa.String(64), primary_key=True),
        sa.Column(
            "enterprise_id",
            sa.Integer,
            sa.ForeignKey("enterprises.id", name="fk_prefixes_enterprise_id_enterprises"),
            nullable=True,
        ),
        sa.Column("created_at", _TIME, nullable=False),
    )
    op.create_index("ix_prefixes_enterprise_id", "prefixes", ["enterprise_id"])
    op.create_table(
        "handles",
        sa.Column("handle", sa.String(255), primary_key=True),
        sa.Column("prefix", sa.String(64), nullable=False),
        sa.Column("values_json", sa.Text, nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
    )
    op.create_index("ix_handles_prefix_handle", "handles", ["prefix", "handle"])
    op.create_table(
        "journal",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer, "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("handle", sa.String(255), nullable=False),
        sa.Column("op", sa.String(16), nullable=False),
        sa.Column("principal", sa.String(320), nullable=False),
        sa.Column("at", _TIME, nullable=False),
    )
    op.create_index("ix_journal_at", "journal", ["at"])


def downgrade() -> None:
    op.drop_index("ix_journal_at", table_name="journal")
    op.drop_table("journal")
    op.drop_index("ix_handles_prefix_handle", table_name="handles")
    op.drop_table("handles")
    op.drop_index("ix_prefixes_enterprise_id", table_name="prefixes")
    op.drop_table("prefixes")
    op.drop_table("enterprises")
    op.drop_table("node")
