"""idnode's resolver: the resolution pipeline, its front ends and the node application."""

from .answer import Answer
from .app import build_app, create_app
from .pipeline import Stage, StoreStage, StoreUnavailable
from .settings import Settings, SettingsError

__all__ = [
    "Answer",
    "Settings",
    "SettingsError",
    "Stage",
    "StoreStage",
    "StoreUnavailable",
    "build_app",
    "create_app",
]
