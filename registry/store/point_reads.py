"""Point reads for the resolver's hot path: one record by handle, with as little between it and the driver
as the driver allows.

On SQLite a primary-key read takes a few microseconds, far less than handing it to a driver thread and
back, so it runs right on the event loop with the standard library's sqlite3 (WAL readers never wait for
writers). On PostgreSQL it is one prepared statement on an asyncpg pool, without a transaction around it.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from typing import Protocol

import asyncpg
from sqlalchemy.engine import URL

MMAP_BYTES = 1 << 30
_ONE = "SELECT values_json FROM handles WHERE handle = {}"
_MANY = "SELECT handle, values_json FROM handles WHERE handle = ANY($1::text[])"


class PointReader(Protocol):
    async def one(self, handle: str) -> str | None:
        """The stored values of `handle`, or None."""
        ...

    async def many(self, handles: Sequence[str]) -> dict[str, str]:
        """The stored values of those of `handles` that exist, in one round trip."""
        ...

    async def close(self) -> None: ...


class SqliteReader:
    def __init__(self, path: str) -> None:
        self._path = path
        self._conn: sqlite3.Connection | None = None

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA query_only = ON")
            conn.execute("PRAGMA busy_timeout = 5000")
            # Pages read through the file's mapping rather than a read() and a copy into SQLite's own
            # small cache: a cold read is a walk down a B-tree of pages, most of them in the OS's cache.
            conn.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
            self._conn = conn
        return self._conn

    async def one(self, handle: str) -> str | None:
        row = self._connection().execute(_ONE.format("?"), (handle,)).fetchone()
        return None if row is None else str(row[0])

    async def many(self, handles: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        conn = self._connection()
        # Chunks stay under SQLite's limit on bound parameters.
        for start in range(0, len(handles), 500):
            chunk = handles[start : start + 500]
            marks = ",".join("?" * len(chunk))
            sql = f"SELECT handle, values_json FROM handles WHERE handle IN ({marks})"
            found.update((str(h), str(v)) for h, v in conn.execute(sql, chunk))
        return found

    async def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


async def _kept(conn: asyncpg.Connection) -> None:
    """Nothing more to undo when a point-read connection goes back to the pool. asyncpg's default also resets
    every session setting (`RESET ALL`, `UNLISTEN *`, …): one more round trip for each read, which took a
    tenth of the node's time on cold GETs, where these reads only ever run a single SELECT and change nothing.
    A transaction left open (a cancelled read) is rolled back by the pool either way."""


class PostgresReader:
    def __init__(self, url: URL, pool_size: int) -> None:
        self._dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._size = pool_size
        self._pool: asyncpg.Pool | None = None
        self._lock = asyncio.Lock()

    async def _get_pool(self) -> asyncpg.Pool:
        if self._pool is None:
            async with self._lock:
                if self._pool is None:
                    self._pool = await asyncpg.create_pool(
                        self._dsn, min_size=1, max_size=self._size, command_timeout=10, reset=_kept
                    )
        return self._pool

    async def one(self, handle: str) -> str | None:
        pool = await self._get_pool()
        value = await pool.fetchval(_ONE.format("$1"), handle)
        return None if value is None else str(value)

    async def many(self, handles: Sequence[str]) -> dict[str, str]:
        pool = await self._get_pool()
        return {str(r[0]): str(r[1]) for r in await pool.fetch(_MANY, list(handles))}

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
