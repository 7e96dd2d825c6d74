"""The secrets of HS_SECKEY values, sealed with the credential key, for the native protocol's
challenge–response (the values themselves keep only their argon2id hash).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03

Values stored before hold only the hash: they keep serving Basic authentication and the SNMS logins, and
have no native form until their secret is set again.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "native_secrets",
        sa.Column("handle", sa.String(255), nullable=False),
        sa.Column("idx", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("hash", sa.Text, nullable=False),
        sa.Column("sealed", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("handle", "idx", name="pk_native_secrets"),
        # A record's sealed secrets go with it (SQLite enforces this: the node turns foreign keys on).
        sa.ForeignKeyConstraint(
            ["handle"],
            ["handles.handle"],
            name="fk_native_secrets_handle_handles",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
    )


def downgrade() -> None:
    op.drop_table("native_secrets")
