"""SQL on the native_secrets table: the sealed secrets of HS_SECKEY values, by record key and index."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import and_, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from .schema import native_secrets


@dataclass(frozen=True, slots=True)
class SecretRow:
    handle: str  # the record's key
    idx: int
    hash: str  # the argon2id hash the value holds: the row is good only beside it
    sealed: str


async def find(conn: AsyncConnection, handle: str, idx: int) -> SecretRow | None:
    stmt = select(native_secrets).where(native_secrets.c.handle == handle, native_secrets.c.idx == idx)
    found = (await conn.execute(stmt)).first()
    return None if found is None else SecretRow(**found._mapping)


async def held(conn: AsyncConnection, handles: Sequence[str]) -> list[tuple[str, int, str]]:
    """(key, index, hash) of the rows of the records `handles`."""
    if not handles:
        return []
    t = native_secrets
    stmt = select(t.c.handle, t.c.idx, t.c.hash).where(t.c.handle.in_(handles))
    return [(row.handle, row.idx, row.hash) for row in await conn.execute(stmt)]


async def drop(conn: AsyncConnection, rows: Sequence[tuple[str, int]]) -> None:
    """Delete the rows (key, index)."""
    t = native_secrets
    for handle, idx in rows:
        await conn.execute(delete(t).where(and_(t.c.handle == handle, t.c.idx == idx)))


async def add(conn: AsyncConnection, rows: Sequence[SecretRow]) -> None:
    if rows:
        params = [{"handle": r.handle, "idx": r.idx, "hash": r.hash, "sealed": r.sealed} for r in rows]
        await conn.execute(insert(native_secrets), params)
