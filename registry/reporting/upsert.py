"""INSERT … ON CONFLICT in the dialect of the connection (SQLite and PostgreSQL both have it)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.expression import ColumnElement

# What a conflicting row becomes: column name → expression of the table and of the rejected row (`excluded`).
Merge = Callable[[Table, Any], Mapping[str, ColumnElement[Any]]]


def _insert(conn: AsyncConnection, table: Table) -> Any:
    return postgresql.insert(table) if conn.dialect.name == "postgresql" else sqlite.insert(table)


async def insert_new(conn: AsyncConnection, table: Table, row: Mapping[str, Any]) -> bool:
    """Insert `row` unless a unique key of it is taken; whether it was inserted."""
    result = await conn.execute(_insert(conn, table).values(**row).on_conflict_do_nothing())
    return bool(result.rowcount)


async def merge(
    conn: AsyncConnection, table: Table, rows: Sequence[Mapping[str, Any]], keys: Sequence[str], how: Merge
) -> None:
    """Insert `rows`; a row whose `keys` are taken is merged into the one there as `how` says."""
    if not rows:
        return
    stmt = _insert(conn, table)
    stmt = stmt.on_conflict_do_update(index_elements=list(keys), set_=dict(how(table, stmt.excluded)))
    await conn.execute(stmt, list(rows))
