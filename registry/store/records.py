"""SQL on the handles table. Every function takes the connection of the caller's transaction.

Rows are found by key (`registry.naming`); `name` is the handle as written, for listings and display.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from .schema import handles


def new_row(
    prefix: str, key: str, name: str, values_json: str, now: datetime, template: str | None = None
) -> dict[str, Any]:
    """The parameters of a new record's row, for `insert_new` and `upsert`."""
    return {
        "handle": key,
        "name": name,
        "prefix": prefix,
        "values_json": values_json,
        "created_at": now,
        "updated_at": now,
        "template_version": template,
    }


def _insert(conn: AsyncConnection) -> Any:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(handles)


async def read(conn: AsyncConnection, handle: str) -> str | None:
    """The stored values of one handle: one primary-key read."""
    stmt = select(handles.c.values_json).where(handles.c.handle == handle)
    return (await conn.execute(stmt)).scalar_one_or_none()


async def read_for_update(conn: AsyncConnection, handle: str) -> str | None:
    stmt = select(handles.c.values_json).where(handles.c.handle == handle)
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return (await conn.execute(stmt)).scalar_one_or_none()


async def read_many(conn: AsyncConnection, keys: Sequence[str]) -> dict[str, str]:
    if not keys:
        return {}
    stmt = select(handles.c.handle, handles.c.values_json).where(handles.c.handle.in_(keys))
    return {row.handle: row.values_json for row in await conn.execute(stmt)}


# On PostgreSQL, a batch's rows go as one array a column, unnested by the server: one statement with seven
# parameters, where a multi-row VALUES has seven a row for SQLAlchemy to compile and asyncpg to encode.
_UNNESTED = """
INSERT INTO handles (handle, name, prefix, values_json, created_at, updated_at, template_version)
SELECT r.handle, r.name, r.prefix, r.values_json, r.created_at, r.updated_at, r.template_version
FROM unnest(
    CAST(:handle AS TEXT[]), CAST(:name AS TEXT[]), CAST(:prefix AS TEXT[]), CAST(:values_json AS TEXT[]),
    CAST(:created_at AS TIMESTAMPTZ[]), CAST(:updated_at AS TIMESTAMPTZ[]), CAST(:template_version AS TEXT[])
) AS r(handle, name, prefix, values_json, created_at, updated_at, template_version)
ON CONFLICT (handle) DO"""
_INSERT_NEW = text(_UNNESTED + " NOTHING RETURNING handle")
_UPSERT = text(
    _UNNESTED + " UPDATE SET values_json = excluded.values_json, updated_at = excluded.updated_at,"
    " template_version = excluded.template_version"
)
_COLUMNS = ("handle", "name", "prefix", "values_json", "created_at", "updated_at", "template_version")
# Rows a statement: sending one statement's parameters holds the event loop (encoding them, and the loopback
# send that hands them to the server), so a thousand records go as four, each a short turn.
CHUNK = 250


def _by_column(rows: Sequence[dict[str, Any]]) -> Iterator[dict[str, list[Any]]]:
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        yield {column: [row[column] for row in chunk] for column in _COLUMNS}


async def insert_new(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> set[str]:
    """Insert the rows whose handle is free; returns the handles inserted (a taken one is skipped)."""
    if not rows:
        return set()
    if conn.dialect.name == "postgresql":
        inserted: set[str] = set()
        for params in _by_column(rows):
            inserted.update((await conn.execute(_INSERT_NEW, params)).scalars())
        return inserted
    stmt = _insert(conn).on_conflict_do_nothing(index_elements=["handle"]).returning(handles.c.handle)
    result = await conn.execute(stmt, list(rows))
    return set(result.scalars().all())


async def upsert(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Insert or replace whole records."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        for params in _by_column(rows):
            await conn.execute(_UPSERT, params)
        return
    stmt = _insert(conn)
    stmt = stmt.on_conflict_do_update(
        index_elements=["handle"],
        set_={
            "values_json": stmt.excluded.values_json,
            "updated_at": stmt.excluded.updated_at,
            "template_version": stmt.excluded.template_version,
        },
    )
    await conn.execute(stmt, list(rows))


async def replace(
    conn: AsyncConnection, handle: str, values_json: str, now: datetime, template: str | None = None
) -> None:
    values = {"values_json": values_json, "updated_at": now, "template_version": template}
    await conn.execute(update(handles).where(handles.c.handle == handle).values(**values))


async def remove(conn: AsyncConnection, handle: str) -> bool:
    result = await conn.execute(delete(handles).where(handles.c.handle == handle))
    return bool(result.rowcount)


async def remove_many(conn: AsyncConnection, names: Sequence[str]) -> None:
    if names:
        await conn.execute(delete(handles).where(handles.c.handle.in_(names)))


async def count_under(conn: AsyncConnection, prefix: str) -> int:
    stmt = select(func.count()).select_from(handles).where(handles.c.prefix == prefix)
    return int((await conn.execute(stmt)).scalar_one())


async def names_under(conn: AsyncConnection, prefix: str, *, offset: int, limit: int) -> list[str]:
    """The names (as written) of the handles under `prefix`, in key order."""
    stmt = (
        select(func.coalesce(handles.c.name, handles.c.handle))
        .where(handles.c.prefix == prefix)
        .order_by(handles.c.handle)
        .offset(offset)
        .limit(limit)
    )
    return list((await conn.execute(stmt)).scalars().all())


async def counts(conn: AsyncConnection) -> list[tuple[str, str | None, int]]:
    """`(prefix, template version, handles)` for every prefix and template in use."""
    stmt = (
        select(handles.c.prefix, handles.c.template_version, func.count())
        .group_by(handles.c.prefix, handles.c.template_version)
        .order_by(handles.c.prefix, handles.c.template_version)
    )
    return [(row[0], row[1], int(row[2])) for row in await conn.execute(stmt)]
