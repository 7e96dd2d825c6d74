"""idnode's resolver: the node's network face — its front ends, the resolution pipeline and its stages, and
the composition root that builds a node from its settings."""

from .answer import Answer
from .app import build_app, create_app
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
    "build_app",
    "create_app",
    "open_node",
    "open_writer",
]
