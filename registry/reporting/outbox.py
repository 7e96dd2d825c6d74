"""A secondary node's outbox of reports to its parent: durable (a row until sent, and after), each report
queued once by its id, retried until the parent has it."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ..store.engine import Store
from ..store.schema import report_outbox


@dataclass(frozen=True, slots=True)
class Report:
    """A report: its kind, what it is about (`subject`: a newer report of a subject makes an unsent older one
    pointless) and its body."""

    kind: str
    subject: str
    body: Mapping[str, Any]

    @property
    def text(self) -> str:
        return orjson.dumps(self.body, option=orjson.OPT_SORT_KEYS).decode()

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Queued:
    id: int
    kind: str
    report_id: str
    body: str
    attempts: int


def _digest(report_id: str, subject: str) -> str:
    return report_id[len(subject) + 1 :].partition(".")[0]


class Outbox:
    def __init__(self, store: Store, *, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._clock = clock

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    async def enqueue(self, reports: Sequence[Report]) -> int:
        """Queue each report that says something new of its subject (an unsent older one of the subject is
        dropped for it); how many were queued.

        A report's id is its subject and a digest of its body (and, for a subject reported before, when it was
        queued, so that a body told before, then changed, then told again is a new report): made once, when
        it is queued, and sent with it however often it is sent, so that the parent stores it once."""
        now, queued = self._now(), 0
        async with self._store.writer.begin() as conn:
            for report in reports:
                queued += await self._enqueue(conn, report, now)
        return queued

    async def _enqueue(self, conn: AsyncConnection, report: Report, now: datetime) -> int:
        c = report_outbox.c
        stmt = select(c.id, c.report_id, c.sent).where(c.subject == report.subject).order_by(c.id)
        rows = (await conn.execute(stmt)).all()
        digest = report.digest
        if rows and _digest(rows[-1].report_id, report.subject) == digest:
            return 0
        unsent = [r.id for r in rows if r.sent is None]
        if unsent:
            await conn.execute(delete(report_outbox).where(c.id.in_(unsent)))
        sent = [r for r in rows if r.sent is not None]
        if sent and _digest(sent[-1].report_id, report.subject) == digest:
            return 0  # what the parent was last told after all
        # Told before, something else since: an id unlike any before, should the body be one told before.
        again = f".{int(now.timestamp() * 1_000_000)}" if rows else ""
        report_id = f"{report.subject}:{digest}{again}"
        row = {"kind": report.kind, "subject": report.subject, "report_id": report_id, "body": report.text,
               "created": now, "attempts": 0, "next_attempt": now, "sent": None}  # fmt: skip
        await conn.execute(report_outbox.insert().values(**row))
        return 1

    async def due(self, *, limit: int = 100, everything: bool = False) -> list[Queued]:
        """The oldest unsent reports whose next attempt is due (`everything`: due or not)."""
        stmt = select(report_outbox).where(report_outbox.c.sent.is_(None))
        if not everything:
            stmt = stmt.where(report_outbox.c.next_attempt <= self._now())
        async with self._store.reader.connect() as conn:
            rows = await conn.execute(stmt.order_by(report_outbox.c.id).limit(limit))
            return [Queued(r.id, r.kind, r.report_id, r.body, r.attempts) for r in rows]

    async def mark_sent(self, ids: Sequence[int]) -> None:
        async with self._store.writer.begin() as conn:
            stmt = update(report_outbox).where(report_outbox.c.id.in_(list(ids)))
            await conn.execute(stmt.values(sent=self._now()))

    async def mark_failed(self, ids: Sequence[int], *, retry_in: float) -> None:
        """A failed attempt at sending these: the next one in `retry_in` seconds."""
        later = self._now() + timedelta(seconds=retry_in)
        async with self._store.writer.begin() as conn:
            stmt = update(report_outbox).where(report_outbox.c.id.in_(list(ids)))
            await conn.execute(stmt.values(attempts=report_outbox.c.attempts + 1, next_attempt=later))

    async def prune(self, *, sent_before: datetime) -> int:
        """Forget reports sent before `sent_before`, but the last one of each subject (what the parent was
        last told of it, which a report made again is compared with). How many were forgotten."""
        c = report_outbox.c
        last = select(func.max(c.id)).group_by(c.subject).scalar_subquery()
        old = c.sent.is_not(None) & (c.sent < sent_before) & c.id.not_in(last)
        async with self._store.writer.begin() as conn:
            return int((await conn.execute(delete(report_outbox).where(old))).rowcount or 0)

    async def backlog(self) -> int:
        """How many reports wait to be sent."""
        stmt = select(func.count()).select_from(report_outbox).where(report_outbox.c.sent.is_(None))
        async with self._store.reader.connect() as conn:
            return int((await conn.execute(stmt)).scalar_one())
