"""Challenges of the native Handle protocol waiting for their answers (a minute each), where every node
process finds them.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "native_challenges",
        sa.Column("session", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("request", sa.LargeBinary, nullable=False),
        sa.Column("nonce", sa.LargeBinary, nullable=False),
        sa.Column("digest", sa.LargeBinary, nullable=False),
        sa.Column("expires", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_native_challenges_expires", "native_challenges", ["expires"])


def downgrade() -> None:
    op.drop_index("ix_native_challenges_expires", table_name="native_challenges")
    op.drop_table("native_challenges")
