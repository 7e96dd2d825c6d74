"""Handles are keyed as the parser now reads them: suffixes in Unicode NFC, full-width and half-width forms
as their ordinary ones.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02

Only suffixes that are not plain ASCII can change key (the ASCII rule is as before), so only those rows
are looked at. A row whose new key another row already holds, or whose name the parser now refuses (control,
format or bidi characters, U+FFFD), keeps its key and is named in the log: an operator decides about it;
nothing is deleted. Answers cached under an old key are never asked for again, and expire.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

from registry.errors import InvalidHandle
from registry.naming import Naming

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

_handles = sa.table("handles", sa.column("handle", sa.String), sa.column("name", sa.String))
_node = sa.table("node", sa.column("key", sa.String), sa.column("value", sa.Text))


def _moves(conn: sa.Connection, naming: Naming) -> list[tuple[str, str]]:
    """(old key, new key) of the rows whose key the current rule gives differently."""
    moves = []
    # Streamed (the statement's option: a connection's would stay set for the updates after it).
    everything = sa.select(_handles.c.handle, _handles.c.name).execution_options(yield_per=10_000)
    rows = conn.execute(everything)
    for key, name in rows:
        if name is None or name.isascii():
            continue
        try:
            fresh = naming.key_of(name)
        except InvalidHandle as exc:
            log.warning(
                "handle %r is no longer a valid handle (%s): left under its old key", name, exc.message
            )
            continue
        if fresh != key:
            moves.append((key, fresh))
    return moves


def upgrade() -> None:
    conn = op.get_bind()
    case = conn.execute(sa.select(_node.c.value).where(_node.c.key == "case")).scalar()
    if case is None:  # a database no node was set up in yet holds no handles
        return
    for old, fresh in _moves(conn, Naming.from_label(case)):
        if conn.execute(sa.select(_handles.c.handle).where(_handles.c.handle == fresh)).first() is not None:
            log.warning(
                "handle key %r would become %r, which another handle holds: left as it is", old, fresh
            )
            continue
        conn.execute(sa.update(_handles).where(_handles.c.handle == old).values(handle=fresh))


def downgrade() -> None:
    """Keys stay as they are: which rows were moved is not kept, and older code reading a moved row's name
    as it did before finds it again only where its rule and this one agree (NFC names, ASCII)."""
