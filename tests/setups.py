"""Node set-ups made once a test run through the CLI, and copied for every later test that asks for the same.

Setting a node up as an operator does (`idnode init`, `idnode enterprise add` twice) costs three processes
and several slow hashes: seconds, for each of some thirty end-to-end tests. The first set-up of a kind (SQLite
or PostgreSQL, with the same settings) runs the commands for real; later ones copy its database, which is
what the commands would have made again, save for the keys they draw at random: nodes set up from one copy
share their node keys and secrets' salts. A test that needs two nodes with keys of their own sets them up
with `fresh=True`. The copies' sources are dropped at the end of the run (`drop_sources`).
"""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
from collections.abc import Callable
from pathlib import Path

import asyncpg

from tests.support import PG_ADMIN_URL

# Settings that change how a node serves, not what its set-up writes into the database.
RUNTIME_ONLY = frozenset(
    {
        *("IDNODE_DATABASE_URL", "IDNODE_REDIS_URL", "IDNODE_CACHE_LAYERS", "IDNODE_CACHE_MAX_TTL"),
        *("IDNODE_STORE_RETRY_MS", "IDNODE_JOURNAL_POLL_MS"),
    }
)
SQLITE, POSTGRES = "sqlite:///", "postgresql://"

_sources: dict[tuple[str, frozenset[tuple[str, str]]], str] = {}  # (kind, settings) → SQLite file or database
_folder: Path | None = None


def set_up(env: dict[str, str], run_commands: Callable[[], None], *, fresh: bool = False) -> None:
    """The database `env` names, set up as `run_commands` sets it up: by them the first time, a copy later
    (`fresh`: by them every time)."""
    url = "" if fresh else env.get("IDNODE_DATABASE_URL", "")
    kind = SQLITE if url.startswith(SQLITE) else POSTGRES if url.startswith(POSTGRES) else ""
    if not kind:  # the default, relative database: nothing to copy safely
        run_commands()
        return
    key = (kind, frozenset((k, v) for k, v in env.items() if k not in RUNTIME_ONLY))
    source = _sources.get(key)
    if source is not None:
        (_copy_sqlite if kind == SQLITE else _copy_postgres)(source, url)
        return
    run_commands()
    _sources[key] = _keep_sqlite(url) if kind == SQLITE else _keep_postgres(url)


def _sqlite_path(url: str) -> Path:
    return Path(url.removeprefix(SQLITE))


def _backup(source: Path, target: Path) -> None:
    # The backup API copies a consistent database, its WAL included, which copying the file would not.
    target.parent.mkdir(parents=True, exist_ok=True)
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


def _keep_sqlite(url: str) -> str:
    global _folder
    if _folder is None:
        _folder = Path(tempfile.mkdtemp(prefix="idnode-setups-"))
    kept = _folder / f"{len(_sources)}.db"
    _backup(_sqlite_path(url), kept)
    return str(kept)


def _copy_sqlite(source: str, url: str) -> None:
    _backup(Path(source), _sqlite_path(url))


def _name(url: str) -> str:
    return url.rpartition("/")[2]


async def _admin(*statements: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_URL, timeout=10)
    try:
        for statement in statements:
            # A server process of the commands that just ended may still be leaving the database.
            for attempt in range(50):
                try:
                    await conn.execute(statement)
                    break
                except asyncpg.ObjectInUseError:
                    if attempt == 49:
                        raise
                    await asyncio.sleep(0.1)
    finally:
        await conn.close()


def _keep_postgres(url: str) -> str:
    kept = f"{_name(url)}_setup"
    asyncio.run(_admin(f'CREATE DATABASE "{kept}" TEMPLATE "{_name(url)}"'))
    return kept


def _copy_postgres(source: str, url: str) -> None:
    name = _name(url)
    drop = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    asyncio.run(_admin(drop, f'CREATE DATABASE "{name}" TEMPLATE "{source}"'))


def drop_sources() -> None:
    """Drop what the copies were made from (the end of the run)."""
    databases = [source for (kind, _), source in _sources.items() if kind == POSTGRES]
    if databases:
        asyncio.run(_admin(*(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)' for name in databases)))
    for (kind, _), source in _sources.items():
        if kind == SQLITE:
            Path(source).unlink(missing_ok=True)
    _sources.clear()
