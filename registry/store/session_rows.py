"""SQL on the sessions table: a session recorded as authenticated, looked up, ended; expired rows pruned."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from .schema import sessions


@dataclass(frozen=True, slots=True)
class SessionRow:
    session: str
    principal: str
    proof: str
    expires: int


async def record(conn: AsyncConnection, row: SessionRow, now: int) -> None:
    """Record `row` in place of what its session held (an upsert: two answers at once to one session's
    challenge do not collide), and delete the rows that have expired (cheap: by the expiry index)."""
    await conn.execute(delete(sessions).where(sessions.c.expires <= now))
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    fields = {"principal": row.principal, "proof": row.proof, "expires": row.expires}
    stmt = dialect_insert(sessions).values(session=row.session, **fields)
    await conn.execute(stmt.on_conflict_do_update(index_elements=[sessions.c.session], set_=fields))


async def find(conn: AsyncConnection, session: str, now: int) -> SessionRow | None:
    """The session's row, unless it has expired."""
    stmt = select(sessions).where(sessions.c.session == session, sessions.c.expires > now)
    found = (await conn.execute(stmt)).first()
    return None if found is None else SessionRow(**found._mapping)


async def end(conn: AsyncConnection, session: str) -> bool:
    """Delete the session's row; whether there was one."""
    result = await conn.execute(delete(sessions).where(sessions.c.session == session))
    return bool(result.rowcount)
