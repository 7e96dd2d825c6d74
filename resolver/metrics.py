"""The process's counters and gauges, rendered in the Prometheus text format at GET /metrics.

Plain integer attributes: the hot path adds to them without locks or label lookups. Each process counts
its own; the `pid` label tells the workers of one node apart.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field, fields


@dataclass
class Metrics:
    """What a node process has done since it started."""

    l1_hits: int = 0
    l2_hits: int = 0
    store_reads: int = 0
    store_queries: int = 0
    stale_answers: int = 0
    store_errors: int = 0
    store_up: int = 1
    redis_errors: int = 0
    redis_up: int = 1
    invalidations_sent: int = 0
    invalidations_received: int = 0
    invalidation_timeouts: int = 0
    journal_changes_seen: int = 0
    gauges: dict[str, Callable[[], float]] = field(default_factory=dict)

    def render(self) -> str:
        """The Prometheus text exposition of every counter and gauge."""
        pid = os.getpid()
        lines = []
        for f in fields(self):
            if f.name == "gauges":
                continue
            kind = "gauge" if f.name.endswith("_up") else "counter"
            name = f"idnode_{f.name}" + ("_total" if kind == "counter" else "")
            lines += [f"# TYPE {name} {kind}", f'{name}{{pid="{pid}"}} {getattr(self, f.name)}']
        for gauge, read in sorted(self.gauges.items()):
            lines += [f"# TYPE idnode_{gauge} gauge", f'idnode_{gauge}{{pid="{pid}"}} {read()}']
        return "\n".join(lines) + "\n"
