"""idnode's resolver: the node's network face — its front ends, the resolution pipeline and its stages, and
the composition root that builds a node from its settings.

The ASGI application (`resolver.app`: `build_app`, `create_app`) is imported where it is served, not here:
the operator's commands that never serve (`idnode init`, `enterprise add`, …) start without FastAPI.
"""

from .answer import Answer
from .node import Node, NotReady, open_node, open_writer
from .pipeline import NotHomed, Pipeline, Stage, StoreStage, StoreUnavailable
from .query import Query, View
from .settings import Settings, SettingsError

__all__ = [
    "Answer",
    "Node",
    "NotHomed",
    "NotReady",
    "Pipeline",
    "Query",
    "Settings",
    "SettingsError",
    "Stage",
    "StoreStage",
    "StoreUnavailable",
    "View",
    "open_node",
    "open_writer",
]
