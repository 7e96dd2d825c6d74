"""What every front end is given: the registry's services, the resolution pipeline, the database's health,
the process's metrics, the node's signing key (for signed answers) and the authentication throttle."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

from registry import Handle, Naming, Services
from registry.audit import source
from registry.visibility import Reader

from ..health import Health
from ..metrics import Metrics
from ..pipeline import Pipeline
from ..query import Query
from ..reporting.stats import ResolutionStats
from ..signing import AnswerSigner
from ..throttle import AuthThrottle

if TYPE_CHECKING:
    from ..write_processes import WriteProcesses


@dataclass(frozen=True, slots=True)
class Context:
    services: Services
    pipeline: Pipeline
    database: Health
    metrics: Metrics
    signer: AnswerSigner
    throttle: AuthThrottle
    writes: WriteProcesses | None = None  # where SNMS batches are written; None: in this process
    # Resolutions counted for the reports to the parent (counting nothing on a node without one).
    stats: ResolutionStats = field(default_factory=lambda: ResolutionStats(counting=False))

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
    # Where the request came from, for the audit of what it writes or is refused. Every route behind the
    # lane takes the context; the anonymous GET lane in front (the hot path) audits nothing and pays nothing.
    client = request.scope.get("client")
    source.set(client[0] if client else "")
    return context


ContextDep = Annotated[Context, Depends(_context)]
