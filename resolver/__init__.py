"""idnode's resolver: the resolution pipeline, its front ends and the node application."""

from .answer import Answer
from .app import build_app, create_app
from .pipeline import Stage, StoreStage, build_pipeline
from .settings import Settings, SettingsError

__all__ = [
    "Answer",
    "Settings",
    "SettingsError",
    "Stage",
    "StoreStage",
    "build_app",
    "build_pipeline",
    "create_app",
]
