"""The node operator's administration API, and the operations it shares with `idnode`'s local commands."""

from .openapi import OPERATIONS as OPENAPI
from .routes import router

__all__ = ["OPENAPI", "router"]
