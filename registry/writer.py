"""Write transactions: each one authorised, journalled, audited, and published on the change feed once
committed."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from .audit import Audit, current_act
from .authz import Authoriser
from .changes import ChangeFeed
from .errors import InvalidValue, RegistryError
from .handle import Handle
from .naming import Naming
from .node import NodeInfo
from .principals import Principal
from .store import audit_log, journal, template_rows
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
    node_prefix: str = ""  # the node's: link targets under it must exist (`links.py`)
    changed: list[str] = field(default_factory=list)
    journalled: list[tuple[str, str]] = field(default_factory=list)
    # Items of a batch that failed alone (the transaction goes on): the audit records them too.
    refused: list[tuple[str, RegistryError]] = field(default_factory=list)
    _templates: dict[tuple[str, str], Template | None] = field(default_factory=dict)

    def key(self, handle: Handle) -> str:
        return self.naming.key(handle)

    async def record(self, changes: Sequence[tuple[str, str]]) -> None:
        """Journal `(key, op)` changes in this transaction."""
        await journal.append(self.conn, changes, principal=str(self.principal), at=self.now)
        self.changed.extend(key for key, _ in changes)
        self.journalled.extend(changes)

    def refuse(self, items: Iterable[tuple[str, RegistryError]]) -> None:
        """Note items (handle, why) that failed alone while the rest of the transaction goes on."""
        self.refused.extend(items)

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
        self,
        store: Store,
        node: NodeInfo,
        feed: ChangeFeed,
        *,
        clock: Callable[[], float] = time.time,
        audit: Audit | None = None,
    ) -> None:
        self.store = store
        self.node = node
        self.feed = feed
        self.clock = clock
        self.audit = audit or Audit(store, node, clock=clock)

    def now(self) -> datetime:
        """The clock's time, to the second, as the database stores it."""
        return datetime.fromtimestamp(int(self.clock()), UTC)

    def stamp(self) -> str:
        """The clock's time as value timestamps carry it."""
        return render_time(int(self.clock()))

    @asynccontextmanager
    async def transaction(self, principal: Principal) -> AsyncIterator[WriteContext]:
        """One write transaction with an authoriser for `principal`, audited in the same transaction (or, when
        a registry error rolls it back, just after); once it has committed, the change feed hears of what it
        changed (caches drop old answers before the writer is answered)."""
        act = current_act()
        try:
            async with self.store.writer.begin() as conn:
                now = self.now()
                stamp = render_time(int(now.timestamp()))
                authz = Authoriser(conn, self.node.prefix, self.node.naming, principal)
                ctx = WriteContext(
                    conn, authz, principal, self.node.naming, now, stamp, node_prefix=self.node.prefix
                )
                yield ctx
                rows = self.audit.write_rows(
                    ctx.journalled, ctx.refused, actor=str(principal), at=now, act=act
                )
                await audit_log.append(conn, rows)
        except RegistryError as exc:
            await self.audit.refusal(exc, actor=str(principal), act=act)
            raise
        if ctx.changed:
            await self.feed.publish(ctx.changed)
