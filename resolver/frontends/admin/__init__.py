"""The node operator's administration API, and the operations it shares with `idnode`'s local commands."""

from .routes import router

__all__ = ["router"]
