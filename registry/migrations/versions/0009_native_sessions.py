"""Sessions of the native protocol: their sealed keys, identities and the message counters they have seen.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "native_sessions",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("sealed_key", sa.Text, nullable=False),
        sa.Column("major", sa.Integer, nullable=False),
        sa.Column("minor", sa.Integer, nullable=False),
        sa.Column("identity", sa.Text, nullable=False),
        sa.Column("identity_index", sa.Integer, nullable=False),
        sa.Column("admin", sa.Text),
        sa.Column("admin_index", sa.Integer),
        sa.Column("lifetime", sa.Integer, nullable=False),
        sa.Column("expires", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_native_sessions_expires", "native_sessions", ["expires"])
    op.create_table(
        "native_session_counters",
        sa.Column(
            "session",
            sa.BigInteger,
            sa.ForeignKey("native_sessions.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("counter", sa.BigInteger, primary_key=True, autoincrement=False),
    )


def downgrade() -> None:
    op.drop_table("native_session_counters")
    op.drop_index("ix_native_sessions_expires", table_name="native_sessions")
    op.drop_table("native_sessions")
