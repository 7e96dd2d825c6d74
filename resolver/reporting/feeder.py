"""What goes into the outbox, and when: the registry's changes as the journal tells them (enterprises,
their prefixes, templates), every enterprise each hour, and the day's identifiers, statistics and
monitoring once the day is over (or so far, when the operator flushes)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from registry import Services
from registry.handle import is_under
from registry.reporting import Outbox, PrefixCounts, Report, read_counts
from registry.reporting.counts import forget_counts
from registry.reporting.marks import read_mark, write_mark
from registry.reporting.sources import (
    identifier_operations,
    newest_change,
    prefix_counts,
    public_records,
    registry_changes,
)

from . import formats

SEQ_MARK, DAY_MARK, HOUR_MARK = "report_journal_seq", "report_day_done", "report_snapshot_hour"
KEEP_DAYS = 31  # the days' counts and the sent reports are kept this long


def _instant(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _sum(counts: list[PrefixCounts]) -> PrefixCounts:
    total = PrefixCounts()
    for c in counts:
        total.requests += c.requests
        total.answered += c.answered
        for source, n in c.sources.items():
            total.sources[source] = total.sources.get(source, 0) + n
    return total


class Feeder:
    def __init__(self, services: Services, outbox: Outbox, *, clock: Callable[[], float] = time.time) -> None:
        self._services = services
        self._store = services.store
        self._outbox = outbox
        self._clock = clock
        self._node_prefix = services.node.prefix

    async def changes(self) -> int:
        """Report what changed since the last look (the first time: everything there is)."""
        mark = await read_mark(self._store, SEQ_MARK)
        if mark is None:
            newest = await newest_change(self._store)
            queued = await self.snapshot(templates=True)
            await write_mark(self._store, SEQ_MARK, str(newest))
            return queued
        changed = await registry_changes(self._store, int(mark))
        reports: list[Report] = []
        if changed.prefixes or changed.credit_codes:
            reports += [
                formats.enterprise(e, self._node_prefix)
                for e in await self._services.enterprises.all()
                if e.credit_code in changed.credit_codes or changed.prefixes & set(e.prefixes)
            ]
        for prefix, version in sorted(changed.templates):
            reports += [formats.template(t) for t in await self._services.templates.get(prefix, version)]
        queued = await self._outbox.enqueue(reports)
        if changed.newest != int(mark):
            await write_mark(self._store, SEQ_MARK, str(changed.newest))
        return queued

    async def snapshot(self, *, templates: bool = False) -> int:
        """Every enterprise (and every template): only those that changed since they were reported are new."""
        reports = [formats.enterprise(e, self._node_prefix) for e in await self._services.enterprises.all()]
        if templates:
            for prefix in await self._services.reads.prefixes():
                reports += [formats.template(t) for t in await self._services.templates.get(prefix)]
        return await self._outbox.enqueue(reports)

    async def hourly(self) -> int:
        hour = datetime.fromtimestamp(self._clock(), formats.CHINA).strftime("%Y-%m-%dT%H")
        if await read_mark(self._store, HOUR_MARK) == hour:
            return 0
        # Templates too: a change the journal told too late for `changes` (a PostgreSQL transaction that
        # committed a lower number after a higher one was read) is caught up with here.
        queued = await self.snapshot(templates=True)
        await write_mark(self._store, HOUR_MARK, hour)
        return queued

    async def daily(self) -> int:
        """The reports of the days ended since the last ones (none of the days before the node reported)."""
        yesterday = (date.fromisoformat(formats.day_of(self._clock())) - timedelta(days=1)).isoformat()
        done = await read_mark(self._store, DAY_MARK)
        queued = 0
        day = yesterday if done is None else (date.fromisoformat(done) + timedelta(days=1)).isoformat()
        while done is not None and day <= yesterday:
            queued += await self._outbox.enqueue(await self.day(day, final=True))
            day = (date.fromisoformat(day) + timedelta(days=1)).isoformat()
        if done != yesterday:
            await self._forget(yesterday)
            await write_mark(self._store, DAY_MARK, yesterday)
        return queued

    async def _forget(self, reported: str) -> None:
        """Forget what the days up to `reported` need no more: their seconds; counts and sent reports older
        than KEEP_DAYS."""
        kept = (date.fromisoformat(reported) - timedelta(days=KEEP_DAYS)).isoformat()
        await forget_counts(self._store, seconds_before=formats.day_bounds(reported)[1], days_before=kept)
        await self._outbox.prune(sent_before=datetime.fromtimestamp(formats.day_bounds(kept)[0], UTC))

    async def today(self) -> int:
        """Today's identifiers, statistics and monitoring so far."""
        return await self._outbox.enqueue(await self.day(formats.day_of(self._clock()), final=False))

    async def _operations(self, changed: list[tuple[str, str, str]]) -> list[formats.Operation]:
        """Each identifier's operation of the day, with its public values unless deleted (one made and then
        deleted is nothing to tell; one changed then deleted, a delete)."""
        ops = [(key, op) for key, first, last in changed if (op := formats.operation(first, last))]
        kept = await public_records(self._store, [key for key, op in ops if op != formats.DELETE])
        return [
            (kept[key][0], op, kept[key][1]) if key in kept else (key, op, None)
            for key, op in ops
            if key in kept or op == formats.DELETE
        ]

    async def day(self, day: str, *, final: bool) -> list[Report]:
        start, end = formats.day_bounds(day)
        counted = await read_counts(self._store, day, start=start, end=end)
        changed = await identifier_operations(self._store, _instant(start), _instant(end))
        totals = {c.prefix: c.handles for c in await self._services.reads.counts()}
        node = self._node_prefix
        known = (
            set(await self._services.reads.prefixes()) | set(totals) | set(changed) | set(counted.prefixes)
        )
        reports: list[Report] = []
        for prefix in sorted(p for p in known if p != node and is_under(p, node)):
            ops = await self._operations(changed.get(prefix, []))
            reports += formats.identifiers(day, prefix, ops, final=final)
            new = sum(1 for _, op, _ in ops if op == formats.ADD)
            counts = counted.prefixes.get(prefix, PrefixCounts())
            reports.append(
                formats.statistics(day, prefix, counts, new=new, total=totals.get(prefix, 0), final=final)
            )
        new_prefixes, all_prefixes = await prefix_counts(self._store, _instant(start), _instant(end))
        identifiers_new = sum(r.body["identifiersNew"] for r in reports if r.kind == formats.STATISTICS)
        reports.append(formats.statistics(
            day, node, _sum(list(counted.prefixes.values())), new=identifiers_new,
            total=sum(n for p, n in totals.items() if is_under(p, node)),
            final=final, prefixesNew=new_prefixes, prefixesTotal=all_prefixes,
        ))  # fmt: skip
        peak = (counted.peak_second, counted.peak_requests)
        timed = list(counted.prefixes.values())
        reports.append(formats.monitoring(day, timed, peak, counted.registrations, final=final))
        return reports
