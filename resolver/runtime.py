"""What a node process holds while it runs: the store, the registry, the resolver and its metrics.

Nothing is opened at import time; `lifespan` opens everything when the server starts and closes it after.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, ProgrammingError

from registry import NodeNotInitialised, Registry, Store

from .assembly import Resolution, assemble
from .metrics import Metrics
from .pipeline import Stage
from .settings import Settings

log = logging.getLogger("idnode")


class NotReady(RuntimeError):
    """The node cannot start; the message says what to do."""


class Runtime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.metrics = Metrics()
        self._registry: Registry | None = None
        self._resolution: Resolution | None = None
        self.node_prefix = ""

    @property
    def registry(self) -> Registry:
        if self._registry is None:
            raise NotReady("the node is not started")
        return self._registry

    def pipeline(self) -> Stage:
        if self._resolution is None:
            raise NotReady("the node is not started")
        return self._resolution.pipeline

    @asynccontextmanager
    async def lifespan(self, app: FastAPI) -> AsyncIterator[None]:
        store = Store.open(self.settings.database_url, pool_size=self.settings.db_pool_size)
        resolution = None
        try:
            registry = Registry(store)
            self.node_prefix = await check_ready(registry, self.settings)
            resolution = await assemble(self.settings, store, self.metrics, self.node_prefix)
            registry.on_change(resolution.invalidator.changed)
            self._registry, self._resolution = registry, resolution
            app.state.registry = registry
            _settle_garbage_collector()
            log.info("node %s ready on %s", self.node_prefix, _safe(self.settings.database_url))
            yield
        finally:
            self._registry = self._resolution = None
            if resolution is not None:
                await resolution.close()
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


def _settle_garbage_collector() -> None:
    """Move what start-up built (modules, app, pools: some hundred thousand objects) out of the collector's
    way, since every full collection would walk them all (a pause of tens of milliseconds under load); and
    collect the young generation after 50,000 allocations rather than 700, since a batch of 2,000 records
    allocates some hundred thousand short-lived objects (it halves a batch's time here)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 10, 10)


def _safe(url: str) -> str:
    """The database URL without its password, for messages."""
    return make_url(url).render_as_string(hide_password=True)
