"""Resolutions counted where they are answered, for the daily statistics and monitoring.

`ResolutionStats.seen` is on the hot path of every front end: a few dict operations, no lock, no I/O. What
it counted is taken (`take`) and added to the database every few seconds (`registry.reporting.add_counts`),
so the counts of every process of the node add up; a process killed loses its last few seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from registry.reporting import DayCounts, PrefixCounts

from .formats import day_bounds, day_of

# Distinct sources counted per prefix between two stores of the counts; more (a scan from many addresses)
# are counted together under OTHER_SOURCES, so that memory stays bounded.
MAX_SOURCES = 10_000
OTHER_SOURCES = "other"


class ResolutionStats:
    def __init__(self, *, counting: bool = True, clock: Callable[[], float] = time.time) -> None:
        self.counting = counting  # False where nothing reports the counts (no parent)
        self._clock = clock
        self._counted = DayCounts()
        self._day, self._day_ends = "", 0.0

    def seen(self, prefix: str, source: str, answered: bool, seconds: float) -> None:
        """A resolution of a handle under `prefix` from `source` took `seconds`, and found it or not."""
        if not self.counting:
            return
        now = self._clock()
        if now >= self._day_ends:
            self._day = day_of(now)
            self._day_ends = day_bounds(self._day)[1]
        counted = self._counted
        counts = counted.prefixes.get((self._day, prefix))
        if counts is None:
            counts = counted.prefixes[(self._day, prefix)] = PrefixCounts()
        _add(counts, answered, seconds)
        sources = counts.sources
        if source not in sources and len(sources) >= MAX_SOURCES:
            source = OTHER_SOURCES
        sources[source] = sources.get(source, 0) + 1
        second = int(now)
        counted.seconds[second] = counted.seconds.get(second, 0) + 1

    def registered(self, taken: bool, seconds: float) -> None:
        """A registration (a create or change of identifiers: one request, however many) took `seconds`."""
        if not self.counting:
            return
        day = day_of(self._clock())
        counts = self._counted.registrations.get(day)
        if counts is None:
            counts = self._counted.registrations[day] = PrefixCounts()
        _add(counts, taken, seconds)

    def take(self) -> DayCounts:
        """What was counted since the last time, and counting afresh."""
        taken, self._counted = self._counted, DayCounts()
        return taken

    def give_back(self, taken: DayCounts) -> None:
        """Counts that could not be stored, to be stored with the next ones."""
        for key, counts in taken.prefixes.items():
            _merge(self._counted.prefixes.setdefault(key, PrefixCounts()), counts)
        for second, n in taken.seconds.items():
            self._counted.seconds[second] = self._counted.seconds.get(second, 0) + n
        for day, counts in taken.registrations.items():
            _merge(self._counted.registrations.setdefault(day, PrefixCounts()), counts)


def _merge(mine: PrefixCounts, counts: PrefixCounts) -> None:
    mine.requests += counts.requests
    mine.answered += counts.answered
    mine.seconds_sum += counts.seconds_sum
    mine.seconds_min = min(mine.seconds_min, counts.seconds_min)
    mine.seconds_max = max(mine.seconds_max, counts.seconds_max)
    for source, n in counts.sources.items():
        mine.sources[source] = mine.sources.get(source, 0) + n


def _add(counts: PrefixCounts, answered: bool, seconds: float) -> None:
    counts.requests += 1
    counts.answered += answered
    counts.seconds_sum += seconds
    if seconds < counts.seconds_min:
        counts.seconds_min = seconds
    if seconds > counts.seconds_max:
        counts.seconds_max = seconds
