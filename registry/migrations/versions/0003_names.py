"""Handles keep the name they were written with; keys follow the node's case rule.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02

Until now suffixes were told apart by case. A node that holds no two handles differing only in ASCII case is
re-keyed to the Handle.Net server's rule (case ignored) and keeps working as before; one that does hold such a
pair keeps case-sensitive keys, recorded in the node table, and starts only with IDNODE_CASE_SENSITIVE=yes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from registry.naming import ascii_upper

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_handles = sa.table("handles", sa.column("handle", sa.String), sa.column("name", sa.String))
_node = sa.table("node", sa.column("key", sa.String), sa.column("value", sa.Text))


def _rule(conn: sa.Connection) -> str:
    """The case rule the node's existing keys allow, re-keying them when case can be ignored."""
    keys = [row[0] for row in conn.execute(sa.select(_handles.c.handle))]
    folded = {key: ascii_upper(key) for key in keys}
    if len(set(folded.values())) != len(keys):
        return "sensitive"
    for key, fold in folded.items():
        if fold != key:
            conn.execute(sa.update(_handles).where(_handles.c.handle == key).values(handle=fold))
    return "insensitive"


def upgrade() -> None:
    with op.batch_alter_table("handles") as batch:
        batch.add_column(sa.Column("name", sa.String(255), nullable=True))
    conn = op.get_bind()
    conn.execute(sa.update(_handles).values(name=_handles.c.handle))
    initialised = conn.execute(sa.select(_node.c.value).where(_node.c.key == "prefix")).first()
    if initialised is not None:
        conn.execute(sa.insert(_node).values(key="case", value=_rule(conn)))


def downgrade() -> None:
    op.execute(sa.delete(_node).where(_node.c.key == "case"))
    with op.batch_alter_table("handles") as batch:
        batch.drop_column("name")
