"""A placeholder for the reports migration (issue 17, another branch): it does nothing.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04

It stands in for the real 0011 only so that 0012 (links) has its parent in this branch; it is replaced by
the real 0011 when the branches are merged.
"""

from __future__ import annotations

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
