"""Throw-away databases for benchmark runs: a SQLite file or a new PostgreSQL database."""

from __future__ import annotations

import asyncio
import os
import secrets
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg

PG_ADMIN_URL = os.environ.get("IDNODE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextmanager
def scratch_database(kind: str) -> Iterator[str]:
    """The URL of an empty database of `kind` (sqlite or postgres), removed afterwards."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="idnode-bench-") as folder:
            yield f"sqlite:///{Path(folder) / 'idnode.db'}"
        return
    name = f"idnode_bench_{secrets.token_hex(4)}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rpartition("/")[0] + f"/{name}"
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _settle_postgres(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("VACUUM (ANALYZE)")
        await conn.execute("CHECKPOINT")
    finally:
        await conn.close()


def settle(url: str) -> None:
    """After a bulk load, do now what the database would otherwise do during a measurement: PostgreSQL's
    autovacuum and analyze of the new rows and a checkpoint; SQLite's checkpoint of its write-ahead log."""
    if url.startswith("sqlite:///"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
        return
    asyncio.run(_settle_postgres(url))
