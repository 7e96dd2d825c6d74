"""The change journal: appended to in the writer's transaction, read by whoever follows changes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from .schema import journal

_UNNESTED = text(
    "INSERT INTO journal (handle, op, principal, at) SELECT r.handle, r.op, :principal, :at"
    " FROM unnest(CAST(:names AS TEXT[]), CAST(:ops AS TEXT[])) WITH ORDINALITY AS r(handle, op, n)"
    " ORDER BY r.n"
)

CREATE = "create"
UPDATE = "update"
DELETE = "delete"


@dataclass(frozen=True, slots=True)
class Change:
    seq: int
    handle: str
    op: str
    principal: str
    at: datetime


async def append(
    conn: AsyncConnection, changes: Iterable[tuple[str, str]], *, principal: str, at: datetime
) -> None:
    """Record `(handle, op)` changes made by `principal`."""
    pairs = list(changes)
    if not pairs:
        return
    if conn.dialect.name == "postgresql":  # one statement of two arrays, however many changes
        names, ops = [h for h, _ in pairs], [op for _, op in pairs]
        await conn.execute(_UNNESTED, {"names": names, "ops": ops, "principal": principal, "at": at})
        return
    rows = [{"handle": h, "op": op, "principal": principal, "at": at} for h, op in pairs]
    await conn.execute(insert(journal), rows)


async def latest(conn: AsyncConnection) -> int:
    """The sequence number of the newest change (0 for an empty journal)."""
    return int((await conn.execute(select(func.coalesce(func.max(journal.c.seq), 0)))).scalar_one())


async def handles_changed_since(conn: AsyncConnection, at: datetime) -> list[str]:
    """The distinct handles changed at or after `at`."""
    stmt = select(journal.c.handle).where(journal.c.at >= at).distinct()
    return list((await conn.execute(stmt)).scalars().all())


class Changed(NamedTuple):
    """A change as a cache follower needs it: which handle, and where in the journal."""

    seq: int
    handle: str


async def changed_after(conn: AsyncConnection, seq: int, *, limit: int = 10_000) -> list[Changed]:
    """The handles of the changes after `seq`, oldest first: two columns, none of them a time to parse, as
    every serving process reads every change."""
    stmt = select(journal.c.seq, journal.c.handle).where(journal.c.seq > seq)
    rows = await conn.execute(stmt.order_by(journal.c.seq).limit(limit))
    return [Changed(seq, handle) for seq, handle in rows]


async def since(conn: AsyncConnection, seq: int, *, limit: int = 10_000) -> list[Change]:
    """Changes after `seq`, oldest first."""
    stmt = select(journal).where(journal.c.seq > seq).order_by(journal.c.seq).limit(limit)
    return [Change(r.seq, r.handle, r.op, r.principal, r.at) for r in await conn.execute(stmt)]
