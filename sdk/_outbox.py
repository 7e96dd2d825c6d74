"""The offline outbox: writes the node could not take, kept in order in a SQLite file until delivered.

Every write is committed (WAL, synchronous=FULL: on disk before the call returns) before the client says
"queued", so a crash of the MES process or of the machine loses none. Delivery takes them oldest first; one
the node refuses for good (not for being unreachable) moves to `undeliverable` with the node's reason, so that
it does not hold up the others.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import orjson

from ._core import Write

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL, queued_at REAL);
CREATE TABLE IF NOT EXISTS undeliverable (seq INTEGER PRIMARY KEY, body TEXT, reason TEXT, at REAL);
"""


class Outbox:
    def __init__(self, path: str | Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def add(self, write: Write) -> None:
        body = orjson.dumps(write.to_json()).decode()
        with self._lock:
            self._db.execute("INSERT INTO outbox (body, queued_at) VALUES (?, ?)", (body, time.time()))

    def pending(self) -> int:
        """How many writes (a batch chunk counts once) wait."""
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM outbox").fetchone()[0])

    def records_pending(self) -> int:
        """How many records wait, counting every record of a queued batch."""
        total = 0
        for _, write in self.oldest(1_000_000):
            total += len(write.items) or 1
        return total

    def oldest(self, limit: int = 100) -> list[tuple[int, Write]]:
        with self._lock:
            rows = self._db.execute("SELECT seq, body FROM outbox ORDER BY seq LIMIT ?", (limit,)).fetchall()
        return [(seq, Write.from_json(orjson.loads(body))) for seq, body in rows]

    def delivered(self, seq: int) -> None:
        with self._lock:
            self._db.execute("DELETE FROM outbox WHERE seq = ?", (seq,))

    def give_up(self, seq: int, reason: str) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute(
                "INSERT INTO undeliverable SELECT seq, body, ?, ? FROM outbox WHERE seq = ?",
                (reason, time.time(), seq),
            )
            self._db.execute("DELETE FROM outbox WHERE seq = ?", (seq,))
            self._db.execute("COMMIT")

    def undeliverable(self) -> list[tuple[Write, str]]:
        """The writes the node refused, with its reasons."""
        with self._lock:
            rows = self._db.execute("SELECT body, reason FROM undeliverable ORDER BY seq").fetchall()
        return [(Write.from_json(orjson.loads(body)), reason) for body, reason in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()
