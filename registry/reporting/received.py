"""The reports a top-level node received from its secondary nodes: each stored once, by node and report id."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson
from sqlalchemy import select

from ..store.engine import Store
from ..store.schema import reports
from .upsert import insert_new


@dataclass(frozen=True, slots=True)
class Incoming:
    kind: str
    report_id: str
    body: str  # JSON text


@dataclass(frozen=True, slots=True)
class ReceivedReport:
    id: int
    node_prefix: str
    kind: str
    report_id: str
    body: str
    received: datetime

    def to_json(self) -> dict[str, object]:
        at = self.received if self.received.tzinfo else self.received.replace(tzinfo=UTC)
        return {
            "id": self.id, "node": self.node_prefix, "kind": self.kind, "reportId": self.report_id,
            "received": at.isoformat(), "body": orjson.loads(self.body),
        }  # fmt: skip


class Received:
    def __init__(self, store: Store, *, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._clock = clock

    async def store(self, node_prefix: str, incoming: Sequence[Incoming]) -> tuple[int, int]:
        """Store the reports of `node_prefix` not stored before: how many were new, how many duplicates."""
        now = datetime.fromtimestamp(self._clock(), UTC)
        accepted = 0
        async with self._store.writer.begin() as conn:
            for report in incoming:
                row = {"node_prefix": node_prefix, "kind": report.kind, "report_id": report.report_id,
                       "body": report.body, "received": now}  # fmt: skip
                accepted += await insert_new(conn, reports, row)
        return accepted, len(incoming) - accepted

    async def page(
        self, *, node: str | None = None, kind: str | None = None, after: int = 0, limit: int = 100
    ) -> list[ReceivedReport]:
        """Received reports in the order they came, after the one numbered `after`."""
        stmt = select(reports).where(reports.c.id > after)
        if node is not None:
            stmt = stmt.where(reports.c.node_prefix == node)
        if kind is not None:
            stmt = stmt.where(reports.c.kind == kind)
        async with self._store.reader.connect() as conn:
            rows = await conn.execute(stmt.order_by(reports.c.id).limit(limit))
            return [
                ReceivedReport(r.id, r.node_prefix, r.kind, r.report_id, r.body, r.received) for r in rows
            ]
