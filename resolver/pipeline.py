"""Resolution as one chain of stages shared by every front end: cache (L1, L2) → store (→ upstream, later).

Each stage answers a `Query` or passes it to the next stage it was built with; the composition root
(`resolver.node`) fixes the order in one place. A stage returns None for a handle that does not exist, and
raises `StoreUnavailable` when the database cannot answer and no cached answer may stand in.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

from registry import Handle, Naming, NotResponsible
from registry.store.point_reads import PointReader

from .answer import Answer
from .batching import Batcher
from .health import Health
from .metrics import Metrics
from .query import Query


class StoreUnavailable(Exception):
    """The database cannot answer right now."""


class Stage(Protocol):
    async def resolve(self, query: Query) -> Answer | None:
        """The answer to `query`, or None when its handle does not exist."""
        ...

    async def resolve_many(self, queries: Sequence[Query]) -> list[Answer | None]:
        """Answers to queries of distinct handles, in their order, with one round trip per stage at most."""
        ...


class Ready(Protocol):
    def ready(self, query: Query) -> Answer | None:
        """The answer to `query` if it is at hand without waiting; None when only `resolve` can tell."""
        ...

    def keep(self, query: Query, answer: Answer) -> None:
        """Hold `answer` (another node's, fresh) for its TTL, so that it is at hand next time."""
        ...


class StoreStage:
    """The registry's database: indexed reads, the misses of one instant in one query, concurrent reads of
    one handle shared.

    While the database's `health` says it is not worth trying (just after a failure), misses fail at once
    rather than each waiting on a database that is down.
    """

    def __init__(self, reader: PointReader, health: Health, metrics: Metrics) -> None:
        self._reader = reader
        self._health = health
        self._metrics = metrics
        self._batcher: Batcher[Answer | None] = Batcher(self._read)
        self._flights: dict[str, asyncio.Future[Answer | None]] = {}

    async def resolve(self, query: Query) -> Answer | None:
        key = query.key
        flight = self._flights.get(key)
        if flight is None:
            self._check_up()
            flight = self._flights[key] = self._batcher.get(key)
            flight.add_done_callback(lambda done: self._landed(key, done))
        return await asyncio.shield(flight)

    def _landed(self, key: str, flight: asyncio.Future[Answer | None]) -> None:
        self._flights.pop(key, None)
        if not flight.cancelled():
            flight.exception()  # whoever waited has it; nobody else need be told it went unread

    async def resolve_many(self, queries: Sequence[Query]) -> list[Answer | None]:
        self._check_up()
        return await self._read([query.key for query in queries])

    def _check_up(self) -> None:
        if not self._health.worth_trying:
            raise StoreUnavailable("the database did not answer just now")

    async def _read(self, keys: list[str]) -> list[Answer | None]:
        self._metrics.store_queries += 1
        try:
            if len(keys) == 1:  # the plain equality: the cheapest statement for the database to run
                value = await self._reader.one(keys[0])
                stored = {} if value is None else {keys[0]: value}
            else:
                stored = await self._reader.many(keys)
        except Exception as exc:
            raise self._failed(exc) from exc
        self._metrics.store_reads += len(keys)
        self._health.succeeded()
        return [Answer.from_stored(stored[k]) if k in stored else None for k in keys]

    def _failed(self, exc: Exception) -> StoreUnavailable:
        self._health.failed(exc)
        return StoreUnavailable(f"the database did not answer ({type(exc).__name__})")


def has_site(answer: Answer) -> bool:
    """Whether a prefix handle's record names a site (HS_SITE, or HS_SITE.PREFIX for its derived prefixes)."""
    return any(value["type"] in SITE_TYPES for value in answer.values())


SITE_TYPES = ("HS_SITE", "HS_SITE.PREFIX")


class NotHomed(NotResponsible):
    """That prefix doesn't live here"""


class Referral(NotHomed):
    """The prefix lives at another node, which the client may ask itself (it asked for no recursion, or this
    node does not recurse): `site` holds the HS_SITE values naming that node's servers; `derived` when they
    are an ancestor prefix's, which delegates the handle's prefix (the Handle System's prefix referral, 303;
    a service referral, 302, otherwise)."""

    def __init__(self, handle: str, site: Answer, *, derived: bool) -> None:
        super().__init__(f"{handle} lives at another node: ask it", handle=handle)
        self.site = site
        self.derived = derived


class UpstreamUnavailable(StoreUnavailable):
    """The node a handle lives at did not answer (or the parent that knows where it lives)."""


class RecursionLimit(NotResponsible):
    """The query passed through as many nodes as it may: a loop, or a chain too long."""


# What `Pipeline.resolve_many` answers in the place of a handle it could not resolve.
Failure = NotResponsible | StoreUnavailable


class Upstream(Protocol):
    async def resolve(self, query: Query) -> Answer | None:
        """The answer of the node `query`'s handle lives at; `Referral` when the query asked for no
        recursion; `NotHomed` when no node is known for it."""
        ...


def home_of(handle: Handle) -> Handle | None:
    """The prefix handle that must exist here for this node to answer for `handle`: `0.NA/<prefix>` of an
    ordinary handle, the parent's prefix handle of a prefix handle (None: the root's, never homed here)."""
    if not handle.is_prefix_handle:
        return Handle.for_prefix(handle.prefix)
    parent, dot, _ = handle.suffix.rpartition(".")
    return Handle.for_prefix(parent) if dot else None


class Pipeline:
    """The node's resolution: its stages, first to last, and the rule of what it answers for.

    A handle that is not found answers "not found" when its prefix is homed here; otherwise the upstream
    stage asks the prefix's own node (`NotHomed` without one). Whether a prefix is homed is itself a
    resolution of its prefix handle, so it is cached like any other answer."""

    def __init__(
        self,
        first: Stage,
        naming: Naming,
        *,
        ready: Ready | None = None,
        own_prefix: str = "",
        upstream: Upstream | None = None,
        delegating: bool = False,
    ) -> None:
        self._first = first
        self._naming = naming
        self._ready = ready
        self._own = Handle.for_prefix(own_prefix) if own_prefix else None
        self._upstream = upstream
        self._delegating = delegating

    def ready(self, query: Query) -> Answer | None:
        """The answer to `query` if the in-process cache holds it fresh, without a coroutine or a task: a
        datagram front end answers such a request in its receive callback. None: ask `resolve`."""
        if self._ready is None:
            return None
        answer = self._ready.ready(query)
        if answer is not None and answer.remote and not query.recurse:
            return None  # another node's: a query that asked for no recursion is referred there (`resolve`)
        return answer

    async def resolve(self, query: Query) -> Answer | None:
        answer = await self._first.resolve(query)
        if answer is None and not await self._homed(query.handle):
            return await self._elsewhere(query)
        if answer is not None and answer.remote and (query.signature or not query.recurse):
            return await self._elsewhere(query)  # the origin signs its own answers; a referral is its site
        return answer

    async def resolve_many(self, queries: Sequence[Query]) -> list[Answer | Failure | None]:
        """Answers to queries of distinct handles, in their order; in the place of those whose prefix does
        not live here, the answer of the node it lives at, or why there is none (`NotHomed`, `Referral`,
        `UpstreamUnavailable`, …)."""
        answers: list[Answer | Failure | None] = list(await self._first.resolve_many(queries))
        if None not in answers:  # the common case, in one pass of C
            return answers
        missing = [n for n, answer in enumerate(answers) if answer is None]
        homes = {n: home_of(queries[n].handle) for n in missing}
        wanted = {self._naming.key(home): home for home in homes.values() if home is not None}
        if not wanted and not any(home is None for home in homes.values()):
            return answers
        found = await self._first.resolve_many([Query(home, self._naming) for home in wanted.values()])
        present = {
            key for key, home, answer in zip(wanted, wanted.values(), found, strict=True)
            if answer is not None and not self._delegates(home, answer)
        }  # fmt: skip
        elsewhere = [n for n, home in homes.items() if home is None or self._naming.key(home) not in present]
        remote = await asyncio.gather(
            *(self._elsewhere(queries[n]) for n in elsewhere), return_exceptions=True
        )
        for n, outcome in zip(elsewhere, remote, strict=True):
            if isinstance(outcome, BaseException) and not isinstance(outcome, Failure):
                raise outcome
            answers[n] = outcome
        return answers

    async def _elsewhere(self, query: Query) -> Answer | None:
        """The answer for a handle whose prefix is not homed here: the upstream's, when there is one. A fresh
        one goes into the in-process cache beside the node's own, so that asked again it is answered on the
        hot path (no local write can change it: its prefix is not homed here; its TTL ends it)."""
        if self._upstream is None:
            raise NotHomed(handle=str(query.handle))
        answer = await self._upstream.resolve(query)
        if answer is not None and not answer.stale and not query.signature and self._ready is not None:
            self._ready.keep(query, answer)
        return answer

    async def _homed(self, handle: Handle) -> bool:
        home = home_of(handle)
        if home is None:
            return False
        answer = await self._first.resolve(Query(home, self._naming))
        return answer is not None and not self._delegates(home, answer)

    def _delegates(self, home: Handle, answer: Answer) -> bool:
        """Whether a prefix handle held here names another node's site: on a `delegating` (top-level) node,
        those of the node prefixes it allocated, where each secondary node homed its site (never its own).
        A secondary node delegates nothing: an HS_SITE an enterprise wrote into its own prefix handle sends
        no query anywhere (else any enterprise could make the node fetch from any address)."""
        if not self._delegating or home == self._own:
            return False
        return b'"HS_SITE' in answer.record and has_site(answer)
