"""The process's counters, and the health of its dependencies, in the Prometheus text format (GET /metrics).

Counters are plain integer attributes: the hot path adds to them without locks or label lookups. The up
gauges and error counters of the database and Redis belong to their `Health` owners and are only read here.
Each process counts its own; the `pid` label tells the workers of one node apart.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field, fields

from .health import Health

_NOT_COUNTERS = ("gauges", "health")


@dataclass
class Metrics:
    """What a node process has done since it started."""

    l1_hits: int = 0
    l2_hits: int = 0
    store_reads: int = 0
    store_queries: int = 0
    stale_answers: int = 0
    invalidations_sent: int = 0
    invalidations_received: int = 0
    invalidation_timeouts: int = 0
    journal_changes_seen: int = 0
    auth_failures: int = 0  # wrong passwords, Basic secrets and forged bearer tokens
    auth_throttled: int = 0  # authentication attempts refused by the throttle
    gauges: dict[str, Callable[[], float]] = field(default_factory=dict)
    health: list[Health] = field(default_factory=list)

    def render(self) -> str:
        """The Prometheus text exposition of every counter, gauge and dependency."""
        pid = os.getpid()
        rows: list[tuple[str, str, float]] = [
            (f"{f.name}_total", "counter", getattr(self, f.name))
            for f in fields(self)
            if f.name not in _NOT_COUNTERS
        ]
        for dependency in self.health:
            rows += dependency.metrics()
        rows += [(name, "gauge", read()) for name, read in sorted(self.gauges.items())]
        lines = []
        for name, kind, value in rows:
            lines += [f"# TYPE idnode_{name} {kind}", f'idnode_{name}{{pid="{pid}"}} {value}']
        return "\n".join(lines) + "\n"
