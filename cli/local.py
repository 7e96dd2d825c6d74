"""The node's own database, for the commands that work on it without a running server: the one place the CLI
reaches into the node (`resolver.local`), to set it up, migrate it, start it and administer it in process."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from resolver import Settings
from resolver.local import FAILURES, Operator, Parent, initialise, migrate, new_secret, node_prefix, operate

T = TypeVar("T")

__all__ = [
    "FAILURES",
    "Operator",
    "Parent",
    "Settings",
    "initialise",
    "migrate",
    "new_secret",
    "node_prefix",
    "on_database",
]


def on_database(work: Callable[[Operator], Awaitable[T]], settings: Settings | None = None) -> T:
    """Run `work` with the node administrator's operations on the database of `IDNODE_DATABASE_URL`."""

    async def run() -> T:
        async with operate(settings or Settings.from_env()) as operator:
            return await work(operator)

    return asyncio.run(run())
