"""Resolution as one chain of stages shared by every front end: parse → (cache) → store → (upstream).

Each stage answers or passes the query to the next one it was built with; `build_pipeline` fixes the order
in one place. Front ends parse their wire format into a `Handle` and render the `Answer` back.
"""

from __future__ import annotations

from typing import Protocol

from registry import Handle, Registry

from .answer import Answer


class Stage(Protocol):
    async def resolve(self, handle: Handle) -> Answer | None:
        """The answer for `handle`, or None when it does not exist."""
        ...


class StoreStage:
    """The registry's database: one indexed read per handle; the last stage for homed prefixes."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry

    async def resolve(self, handle: Handle) -> Answer | None:
        stored = await self._registry.read(handle)
        return None if stored is None else Answer.from_stored(stored)


def build_pipeline(registry: Registry) -> Stage:
    """The resolver's stages in their fixed order."""
    return StoreStage(registry)
