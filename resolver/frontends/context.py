"""What every front end is given: the registry's services, the resolution pipeline, the database's health
and the process's metrics."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from registry import Handle, Naming, Services
from registry.visibility import Reader

from ..health import Health
from ..metrics import Metrics
from ..pipeline import Pipeline
from ..query import Query


@dataclass(frozen=True, slots=True)
class Context:
    services: Services
    pipeline: Pipeline
    database: Health
    metrics: Metrics

    @property
    def naming(self) -> Naming:
        return self.services.node.naming

    def query(
        self,
        handle: Handle,
        *,
        indexes: Sequence[int] = (),
        types: Sequence[str] = (),
        reader: Reader | None = None,
    ) -> Query:
        """A query of `handle` for `reader` (None: an anonymous, public query)."""
        return Query(handle, self.naming, indexes=indexes, types=types, reader=reader)


async def _context(request: Request) -> Context:
    # A coroutine: FastAPI runs a plain function dependency in a worker thread, a round trip per request.
    context: Context = request.app.state.context
    return context


ContextDep = Annotated[Context, Depends(_context)]
