"""The upstream stage: handles whose prefix lives at another node, resolved there.

`routes.py` finds where a prefix lives (its site, from `0.NA/<prefix>`: held here on a top-level node, else
asked of the parent, walking up the derived prefixes as the Handle System does); `remote.py` asks a node
over its Handle REST interface; `stage.py` puts them together behind the pipeline — a recursion budget, a
cache of answers and routes by their TTLs (and of "not found"), stale answers while a node is down, and
referrals for clients that asked for none; `homing.py` homes this node's own site at its parent.
"""

from .homing import Homing
from .remote import Remote
from .stage import UpstreamStage

__all__ = ["Homing", "Remote", "UpstreamStage"]
