"""Reporting upward, the registry's part: a secondary node's outbox of reports to its parent, a top-level
node's received reports, and the resolution counts the daily statistics are made of. What a report says
is the resolver's business (`resolver.reporting.formats`); here reports are rows.
"""

from .counts import DayCounts, PrefixCounts, add_counts, read_counts
from .outbox import Outbox, Queued, Report
from .received import Incoming, Received, ReceivedReport

__all__ = [
    "DayCounts",
    "Incoming",
    "Outbox",
    "PrefixCounts",
    "Queued",
    "Received",
    "ReceivedReport",
    "Report",
    "add_counts",
    "read_counts",
]
