"""Write transactions: each one authorised, journalled, and published on the change feed once committed."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from .authz import Authoriser
from .changes import ChangeFeed
from .errors import InvalidValue
from .handle import Handle
from .naming import Naming
from .node import NodeInfo
from .principals import Principal
from .store import journal, template_rows
from .store.engine import Store
from .templates import Template, template_version
from .values import HandleValue, render_time


@dataclass(slots=True)
class WriteContext:
    """One write transaction: its connection, authoriser and time, and the keys it changed."""

    conn: AsyncConnection
    authz: Authoriser
    principal: Principal
    naming: Naming
    now: datetime
    stamp: str  # `now` as value timestamps carry it
    changed: list[str] = field(default_factory=list)
    _templates: dict[tuple[str, str], Template | None] = field(default_factory=dict)

    def key(self, handle: Handle) -> str:
        return self.naming.key(handle)

    async def record(self, changes: Sequence[tuple[str, str]]) -> None:
        """Journal `(key, op)` changes in this transaction."""
        await journal.append(self.conn, changes, principal=str(self.principal), at=self.now)
        self.changed.extend(key for key, _ in changes)

    async def template_of(self, handle: Handle, values: Sequence[HandleValue]) -> str | None:
        """The template version `values` name (TEMPLATE at index 1001), once they are checked against it."""
        version = template_version(values)
        if version is None or handle.is_prefix_handle:
            return None
        wanted = (handle.prefix, version)
        if wanted not in self._templates:
            self._templates[wanted] = await template_rows.read(self.conn, *wanted)
        template = self._templates[wanted]
        if template is None:
            raise InvalidValue(f"前缀 {handle.prefix} 没有版本为 {version} 的模板", handle=str(handle))
        template.check(values)
        return version


class Writer:
    """Opens write transactions on the node's database; `clock` (epoch seconds) is replaceable for tests."""

    def __init__(
        self, store: Store, node: NodeInfo, feed: ChangeFeed, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.store = store
        self.node = node
        self.feed = feed
        self.clock = clock

    def now(self) -> datetime:
        """The clock's time, to the second, as the database stores it."""
        return datetime.fromtimestamp(int(self.clock()), UTC)

    def stamp(self) -> str:
        """The clock's time as value timestamps carry it."""
        return render_time(int(self.clock()))

    @asynccontextmanager
    async def transaction(self, principal: Principal) -> AsyncIterator[WriteContext]:
        """One write transaction with an authoriser for `principal`; once it has committed, the change feed
        hears of what it changed (caches drop old answers before the writer is answered)."""
        async with self.store.writer.begin() as conn:
            now = self.now()
            stamp = render_time(int(now.timestamp()))
            authz = Authoriser(conn, self.node.prefix, self.node.naming, principal)
            ctx = WriteContext(conn, authz, principal, self.node.naming, now, stamp)
            yield ctx
        if ctx.changed:
            await self.feed.publish(ctx.changed)
