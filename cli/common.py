"""What the commands share: running coroutines, opening the local registry, one-line errors."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import click
from sqlalchemy.exc import SQLAlchemyError

from registry import NodeNotInitialised, Registry, RegistryError, Store
from resolver import Settings, SettingsError
from resolver.assembly import writer_invalidation
from resolver.runtime import NotReady
from sdk import SdkError

T = TypeVar("T")
USAGE_ERROR = 2

# Failures a user can act on: shown as one line, not a traceback.
EXPECTED = (RegistryError, SdkError, SettingsError, NotReady, SQLAlchemyError, OSError, ValueError)


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


@asynccontextmanager
async def local_registry(settings: Settings | None = None) -> AsyncIterator[Registry]:
    """The registry on the database of `IDNODE_DATABASE_URL`, closed afterwards. Its writes reach running
    nodes' caches as a node's own writes do (through Redis when `IDNODE_REDIS_URL` is set)."""
    settings = settings or Settings.from_env()
    store = Store.open(settings.database_url, pool_size=2)
    try:
        registry = Registry(store)
        try:
            node_prefix = await registry.node_prefix()
        except (NodeNotInitialised, SQLAlchemyError):
            yield registry  # nothing can be cached yet
            return
        async with writer_invalidation(settings, node_prefix) as invalidator:
            registry.on_change(invalidator.changed)
            yield registry
    finally:
        await store.close()


def run_command(group: click.Group) -> None:
    """Run the CLI; expected failures print one line (a traceback only with --debug)."""
    debug = "--debug" in sys.argv[1:]
    try:
        group.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except EXPECTED as exc:
        if debug:
            raise
        click.echo(f"idnode: {_describe(exc)}", err=True)
        sys.exit(USAGE_ERROR)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, SQLAlchemyError):
        orig = getattr(exc, "orig", None)
        return f"database error: {orig or exc}".splitlines()[0]
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
