"""SQL on the audit table: rows appended, read back newest first under filters, and pruned by age."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from .schema import audit

Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Filters:
    """What an audit query keeps; None keeps everything. `scope`: the prefixes (and those under them) the
    asker may see."""

    scope: tuple[str, ...] | None = None
    prefix: str | None = None
    actor: str | None = None
    action: str | None = None
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    before: int | None = None  # the paging cursor: rows older (smaller id) than this one


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _under(prefix: str) -> ColumnElement[bool]:
    """The prefix or one derived from it (`88.118.8.5` is under `88.118.8`)."""
    return or_(audit.c.prefix == prefix, audit.c.prefix.like(_escaped(prefix) + ".%", escape="\\"))


def _conditions(f: Filters) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    if f.scope is not None:
        found.append(or_(*[_under(p) for p in f.scope]) if f.scope else audit.c.id < 0)
    if f.prefix is not None:
        found.append(_under(f.prefix))
    if f.actor is not None:
        # The administrator itself, or an SNMS user acting for it (`300:0.NA/88.118.8 (user mes)`).
        acting = audit.c.actor.like(_escaped(f.actor) + " (user %", escape="\\")
        found.append(or_(audit.c.actor == f.actor, acting))
    if f.action is not None:  # `handle` stands for handle.create, handle.update…
        found.append(
            or_(audit.c.action == f.action, audit.c.action.like(_escaped(f.action) + ".%", escape="\\"))
        )
    if f.outcome is not None:
        found.append(audit.c.outcome == f.outcome)
    if f.since is not None:
        found.append(audit.c.at >= f.since)
    if f.until is not None:
        found.append(audit.c.at < f.until)
    if f.before is not None:
        found.append(audit.c.id < f.before)
    return found


async def append(conn: AsyncConnection, rows: Sequence[Row]) -> None:
    if rows:
        await conn.execute(insert(audit), list(rows))


async def newest(conn: AsyncConnection, filters: Filters, limit: int) -> list[Row]:
    """Up to `limit` rows kept by `filters`, newest first, their times in UTC."""
    stmt = select(audit).where(*_conditions(filters)).order_by(audit.c.id.desc()).limit(limit)
    rows = [dict(row._mapping) for row in await conn.execute(stmt)]
    for row in rows:
        at: datetime = row["at"]
        row["at"] = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)  # SQLite: naive
    return rows


async def prune(conn: AsyncConnection, older_than: datetime) -> int:
    """Delete the rows from before `older_than`; how many went."""
    result = await conn.execute(delete(audit).where(audit.c.at < older_than))
    return int(result.rowcount or 0)
