"""Reporting upward: a secondary node's outbox, a top-level node's received reports, resolution and
registration counts.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")
_AT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "report_outbox",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("report_id", sa.String(320), nullable=False, unique=True),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created", _AT, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt", _AT, nullable=False),
        sa.Column("sent", _AT, nullable=True),
    )
    op.create_index("ix_report_outbox_sent_next", "report_outbox", ["sent", "next_attempt"])
    op.create_index("ix_report_outbox_subject", "report_outbox", ["subject"])
    op.create_table(
        "reports",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("node_prefix", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("report_id", sa.String(320), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("received", _AT, nullable=False),
        sa.UniqueConstraint("node_prefix", "report_id", name="uq_reports_node_prefix"),
    )
    op.create_index("ix_reports_node_kind", "reports", ["node_prefix", "kind", "id"])
    op.create_table(
        "resolution_counts",
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("prefix", sa.String(64), primary_key=True),
        sa.Column("requests", sa.BigInteger, nullable=False),
        sa.Column("answered", sa.BigInteger, nullable=False),
        sa.Column("seconds_min", sa.Float, nullable=False),
        sa.Column("seconds_sum", sa.Float, nullable=False),
        sa.Column("seconds_max", sa.Float, nullable=False),
    )
    op.create_table(
        "resolution_sources",
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("prefix", sa.String(64), primary_key=True),
        sa.Column("source", sa.String(64), primary_key=True),
        sa.Column("requests", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "registration_counts",
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("requests", sa.BigInteger, nullable=False),
        sa.Column("answered", sa.BigInteger, nullable=False),
        sa.Column("seconds_min", sa.Float, nullable=False),
        sa.Column("seconds_sum", sa.Float, nullable=False),
        sa.Column("seconds_max", sa.Float, nullable=False),
    )
    op.create_table(
        "resolution_seconds",
        sa.Column("second", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("requests", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "registration_counts",
        "resolution_seconds",
        "resolution_sources",
        "resolution_counts",
        "reports",
        "report_outbox",
    ):
        op.drop_table(table)
