"""Opening the database: URL translation, engines, and SQLite's pragmas."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from .point_reads import PointReader, PostgresReader, SqliteReader

_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}


def async_url(url: str) -> URL:
    """`sqlite:///path` and `postgresql://user@host:port/db` with the async driver the node uses."""
    parsed = make_url(url)
    driver = _ASYNC_DRIVERS.get(parsed.drivername)
    if driver is None:
        raise ValueError(f"unsupported database URL scheme {parsed.drivername!r}: use sqlite or postgresql")
    return parsed.set(drivername=driver)


def ensure_directory(url: URL) -> None:
    """Create the folder of a SQLite file (`./data/` by default) so a fresh checkout just works."""
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(begin: str) -> tuple[Any, Any]:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transactions out of the driver's hands so BEGIN is ours (below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL: an acknowledged write survives a power cut, not only a crash of the node.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    def on_begin(conn: Any) -> None:
        conn.exec_driver_sql(begin)

    return on_connect, on_begin


# Readers run each statement on its own (autocommit): a resolution is one round trip to the database, with
# no BEGIN before it, no ROLLBACK after it and no ping when a connection leaves the pool.
_READS: dict[str, Any] = {"isolation_level": "AUTOCOMMIT", "pool_reset_on_return": None}


def _sqlite_engine(url: URL, begin: str | None, pool_size: int, **options: Any) -> AsyncEngine:
    engine = create_async_engine(url, pool_size=pool_size, max_overflow=0, pool_timeout=60, **options)
    on_connect, on_begin = _sqlite_pragmas(begin or "")
    event.listen(engine.sync_engine, "connect", on_connect)
    if begin:
        event.listen(engine.sync_engine, "begin", on_begin)
    return engine


@dataclass(frozen=True, slots=True)
class Store:
    """The database as the registry uses it: an engine for single reads and one for write transactions."""

    reader: AsyncEngine
    writer: AsyncEngine
    dialect: str
    points: PointReader  # the resolver's one-record reads

    @classmethod
    def open(cls, url: str, *, pool_size: int = 8) -> Store:
        target = async_url(url)
        if target.get_backend_name() == "sqlite":
            ensure_directory(target)
            # Writers take SQLite's write lock at BEGIN, so two writers wait for each other instead of
            # failing on a lock upgrade; one writer connection per process keeps them in line.
            reader = _sqlite_engine(target, None, pool_size, **_READS)
            writer = _sqlite_engine(target, "BEGIN IMMEDIATE", 1)
            return cls(reader, writer, "sqlite", SqliteReader(target.database or ":memory:"))
        pools = {"pool_size": pool_size, "max_overflow": pool_size}
        reader = create_async_engine(target, **pools, **_READS)
        writer = create_async_engine(target, **pools, pool_pre_ping=True)
        return cls(reader, writer, "postgresql", PostgresReader(target, pool_size))

    async def close(self) -> None:
        await self.points.close()
        await self.reader.dispose()
        await self.writer.dispose()
