"""Reporting upward, from a secondary node to its top-level parent: the report formats (`formats`), what
feeds the durable outbox (`feeder`, `events`, `stats`), and what drains it (`sender`); `Reporter` runs them
in a serving process."""

from .reporter import Reporter
from .stats import ResolutionStats

__all__ = ["Reporter", "ResolutionStats"]
