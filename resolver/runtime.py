"""What a node process holds while it runs: the store, the registry and the resolver pipeline.

Nothing is opened at import time; `lifespan` opens everything when the server starts and closes it after.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy.exc import OperationalError, ProgrammingError

from registry import NodeNotInitialised, Registry, Store

from .pipeline import Stage, build_pipeline
from .settings import Settings

log = logging.getLogger("idnode")


class NotReady(RuntimeError):
    """The node cannot start; the message says what to do."""


class Runtime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._registry: Registry | None = None
        self._pipeline: Stage | None = None
        self.node_prefix = ""

    @property
    def registry(self) -> Registry:
        if self._registry is None:
            raise NotReady("the node is not started")
        return self._registry

    def pipeline(self) -> Stage:
        if self._pipeline is None:
            raise NotReady("the node is not started")
        return self._pipeline

    @asynccontextmanager
    async def lifespan(self, app: FastAPI) -> AsyncIterator[None]:
        store = Store.open(self.settings.database_url, pool_size=self.settings.db_pool_size)
        try:
            registry = Registry(store)
            self.node_prefix = await check_ready(registry, self.settings)
            self._registry, self._pipeline = registry, build_pipeline(registry)
            app.state.registry = registry
            log.info("node %s ready on %s", self.node_prefix, _safe(self.settings.database_url))
            yield
        finally:
            self._registry = self._pipeline = None
            await store.close()


async def check_ready(registry: Registry, settings: Settings) -> str:
    """The node's prefix, or `NotReady` saying what to do."""
    where = _safe(settings.database_url)
    try:
        return await registry.node_prefix()
    except NodeNotInitialised:
        raise NotReady(f"{where} holds no node: run `idnode init --node-prefix …` first") from None
    except (OperationalError, ProgrammingError) as exc:
        raise NotReady(f"cannot use {where} ({exc.orig}): run `idnode init` to create its schema") from None
    except OSError as exc:
        raise NotReady(f"cannot reach {where}: {exc}") from None


def _safe(url: str) -> str:
    """The database URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
