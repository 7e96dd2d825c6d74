"""The resolution counts behind the daily statistics and monitoring: each serving process counts in memory
and adds what it counted here every few seconds, so that the counts of every process add up."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, case, delete, select

from ..store.engine import Store
from ..store.schema import registration_counts, resolution_counts, resolution_seconds, resolution_sources
from .upsert import merge


@dataclass(slots=True)
class PrefixCounts:
    """The resolutions of one day under one prefix: how many, how many answered, how long they took (seconds)
    and who asked."""

    requests: int = 0
    answered: int = 0
    seconds_min: float = math.inf
    seconds_sum: float = 0.0
    seconds_max: float = 0.0
    sources: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class DayCounts:
    """What was counted: resolutions by (day, prefix) and of each second (epoch seconds), registrations by
    day (`requests`: how many, `answered`: how many were taken)."""

    prefixes: dict[tuple[str, str], PrefixCounts] = field(default_factory=dict)
    seconds: dict[int, int] = field(default_factory=dict)
    registrations: dict[str, PrefixCounts] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.prefixes or self.seconds or self.registrations)


def _added(table: Table, new: Any) -> Mapping[str, Any]:
    return {"requests": table.c.requests + new.requests}


def _counts_merged(table: Table, new: Any) -> Mapping[str, Any]:
    c = table.c
    return {
        "requests": c.requests + new.requests,
        "answered": c.answered + new.answered,
        "seconds_min": case((new.seconds_min < c.seconds_min, new.seconds_min), else_=c.seconds_min),
        "seconds_sum": c.seconds_sum + new.seconds_sum,
        "seconds_max": case((new.seconds_max > c.seconds_max, new.seconds_max), else_=c.seconds_max),
    }


def _timed(n: PrefixCounts) -> dict[str, Any]:
    return {"requests": n.requests, "answered": n.answered, "seconds_min": n.seconds_min,
            "seconds_sum": n.seconds_sum, "seconds_max": n.seconds_max}  # fmt: skip


async def add_counts(store: Store, counted: DayCounts) -> None:
    """Add what a process counted to what every process counted before."""
    counts, sources = [], []
    for (day, prefix), n in counted.prefixes.items():
        counts.append(
            {
                "day": day,
                "prefix": prefix,
                "requests": n.requests,
                "answered": n.answered,
                "seconds_min": n.seconds_min,
                "seconds_sum": n.seconds_sum,
                "seconds_max": n.seconds_max,
            }
        )
        sources += [{"day": day, "prefix": prefix, "source": s, "requests": k} for s, k in n.sources.items()]
    seconds = [{"second": s, "requests": k} for s, k in counted.seconds.items()]
    registrations = [{"day": day, **_timed(n)} for day, n in counted.registrations.items()]
    async with store.writer.begin() as conn:
        await merge(conn, resolution_counts, counts, ("day", "prefix"), _counts_merged)
        await merge(conn, resolution_sources, sources, ("day", "prefix", "source"), _added)
        await merge(conn, resolution_seconds, seconds, ("second",), _added)
        await merge(conn, registration_counts, registrations, ("day",), _counts_merged)


@dataclass(frozen=True, slots=True)
class Counted:
    """One day's counts of every process: resolutions by prefix, the busiest second (epoch seconds) and its
    count, and the registrations."""

    prefixes: dict[str, PrefixCounts]
    peak_second: int | None
    peak_requests: int
    registrations: PrefixCounts


def _counts(row: Any) -> PrefixCounts:
    return PrefixCounts(row.requests, row.answered, row.seconds_min, row.seconds_sum, row.seconds_max)


async def read_counts(store: Store, day: str, *, start: int, end: int) -> Counted:
    """The counts of `day`, whose seconds are `start` ≤ s < `end`."""
    found: dict[str, PrefixCounts] = {}
    async with store.reader.connect() as conn:
        for r in await conn.execute(select(resolution_counts).where(resolution_counts.c.day == day)):
            found[r.prefix] = _counts(r)
        for r in await conn.execute(select(resolution_sources).where(resolution_sources.c.day == day)):
            found.setdefault(r.prefix, PrefixCounts()).sources[r.source] = r.requests
        within = (resolution_seconds.c.second >= start) & (resolution_seconds.c.second < end)
        stmt = select(resolution_seconds).where(within).order_by(resolution_seconds.c.requests.desc())
        peak = (await conn.execute(stmt.order_by(resolution_seconds.c.second).limit(1))).first()
        stmt = select(registration_counts).where(registration_counts.c.day == day)
        registered = (await conn.execute(stmt)).first()
    registrations = PrefixCounts() if registered is None else _counts(registered)
    second, most = (None, 0) if peak is None else (peak.second, peak.requests)
    return Counted(found, second, most, registrations)


async def forget_counts(store: Store, *, seconds_before: int, days_before: str) -> None:
    """Drop the per-second counts before `seconds_before` (a day reported needs them no more), and the days'
    counts before the day `days_before` (kept a while, for a report asked for again)."""
    async with store.writer.begin() as conn:
        await conn.execute(delete(resolution_seconds).where(resolution_seconds.c.second < seconds_before))
        for table in (resolution_counts, resolution_sources, registration_counts):
            await conn.execute(delete(table).where(table.c.day < days_before))
