"""The pipeline's last stage: a handle whose prefix lives at another node, answered by that node."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, TypeVar

from registry import Handle, Naming
from registry.handle import is_under

from ..answer import Answer
from ..pipeline import NotHomed, RecursionLimit, Referral, Stage, UpstreamUnavailable
from ..query import DEFAULT_BUDGET, Query
from .memo import Memo
from .remote import Referred, Remote
from .routes import Route, route_of

T = TypeVar("T")

# How often, at most, the route of a prefix whose node does not answer is looked up again (it may have moved).
REROUTE_SECONDS = 5.0


def ancestors(prefix: str) -> list[str]:
    """`88.901.5`, `88.901`, `88`: a prefix and those it derives from."""
    parts = prefix.split(".")
    return [".".join(parts[:n]) for n in range(len(parts), 0, -1)]


def authority(handle: Handle) -> str | None:
    """The prefix whose node answers for `handle`: its own prefix, or for a prefix handle the prefix it
    derives from (None: a top-level prefix's handle, which only the parent knows)."""
    if not handle.is_prefix_handle:
        return handle.prefix.upper()
    parent, dot, _ = handle.suffix.upper().rpartition(".")
    return parent if dot else None


class UpstreamStage:
    """Finds where a handle lives and asks it, within the query's recursion budget; answers and routes are
    kept by their TTL ("not found" for `negative_ttl`) and stand in, stale, while their node is down.

    `local` is the node's own pipeline below the upstream (caches and store), for the prefix handles this
    node holds; on a `delegating` (top-level) node those name where the node prefixes it allocated live.
    `parent` is the base URL of the parent's HTTP interface (None: a top-level node, which knows only the
    prefixes it holds). Without `recursion`, every query is answered with a referral."""

    def __init__(
        self,
        local: Stage,
        naming: Naming,
        remote: Remote,
        *,
        own_prefix: str,
        parent: str | None,
        recursion: bool = True,
        delegating: bool = False,
        max_ttl: float = 600,
        negative_ttl: float = 10,
        stale_seconds: float = 3600,
        max_entries: int = 100_000,
    ) -> None:
        self._local = local
        self._naming = naming
        self._remote = remote
        self._own = own_prefix.upper()
        self._parent = parent
        self._recursion = recursion
        self._delegating = delegating
        self._max_ttl = max_ttl
        self._negative_ttl = negative_ttl
        self._answers: Memo[Answer | NotHomed | None] = Memo(
            max_entries=max_entries, stale_seconds=stale_seconds
        )
        self._routes: Memo[Route | None] = Memo(max_entries=max_entries // 10, stale_seconds=stale_seconds)
        self._flights: dict[str, asyncio.Future[Any]] = {}
        self._looked_again: dict[str, float] = {}  # when each prefix's route was last looked for afresh
        self.asked = 0  # queries sent to other nodes, for the metrics

    @property
    def cached(self) -> int:
        """Answers (and not-founds) of other nodes held."""
        return len(self._answers)

    async def resolve(self, query: Query) -> Answer | None:
        if query.budget <= 0:
            raise RecursionLimit(
                f"{query.handle}: the query passed through too many nodes", handle=str(query.handle)
            )
        route = await self._route(query.handle, query.budget)
        if route is None:
            raise NotHomed(handle=str(query.handle))
        if not (self._recursion and query.recurse):
            if route.site is None:  # only the parent is known to answer: nothing to refer to but it
                raise NotHomed(handle=str(query.handle))
            raise Referral(str(query.handle), route.site, derived=route.derived)
        try:
            return await self._answer(query, route)
        except UpstreamUnavailable:
            moved = await self._rerouted(query.handle, query.budget, route)
            if moved is None:
                raise
            return await self._answer(query, moved)

    async def _rerouted(self, handle: Handle, budget: int, tried: Route) -> Route | None:
        """The route found afresh after its servers failed, when it differs (the node moved: its new site
        record is at the parent), else None."""
        start, now = authority(handle) or "", time.monotonic()
        if now - self._looked_again.get(start, -REROUTE_SECONDS) < REROUTE_SECONDS:
            return None  # asked the parent just now: not again for every query while a node is down
        self._looked_again[start] = now
        route = await self._route(handle, budget, afresh=True)
        return None if route is None or route.servers == tried.servers else route

    # --- answers ---------------------------------------------------------------------------------------

    async def _answer(self, query: Query, route: Route) -> Answer | None:
        if query.signature:  # the origin's signature is fresh each time, as this node's own would be
            signed = await self._fetch(str(query.handle), route, query.budget, signed=True)
            if isinstance(signed, NotHomed):
                raise NotHomed(signed.message, handle=str(query.handle))
            return signed
        key = query.key
        held, answer = self._answers.fresh(key)
        if not held:
            try:
                fetch = functools.partial(self._fetch, str(query.handle), route, query.budget)
                answer = await self._once(f"a:{query.budget}:{key}", fetch)
            except UpstreamUnavailable:
                held, answer = self._answers.stale(key)
                if not held:
                    raise
                answer = answer.as_stale() if isinstance(answer, Answer) else answer
        if isinstance(answer, NotHomed):  # a new one: a kept exception raised again would grow its traceback
            raise NotHomed(answer.message, handle=str(query.handle))
        return answer

    async def _fetch(
        self, handle: str, route: Route, budget: int, *, signed: bool = False
    ) -> Answer | NotHomed | None:
        """The node's answer, kept for its TTL; a node that answers for nothing of that prefix (NotHomed)
        is kept as long as "not found", so that a flood of queries for it is not passed on."""
        try:
            servers = route.signing or route.servers if signed else route.servers
            answer: Answer | NotHomed | None = await self._ask(servers, handle, budget, signed=signed)
        except Referred as referred:  # the node asked knows better: one hop further, if the budget allows
            onward = route_of(referred.site, derived=True)
            if onward is None or budget <= 1:
                raise RecursionLimit(f"{handle}: referred on too many times", handle=handle) from None
            servers = onward.signing or onward.servers if signed else onward.servers
            answer = await self._ask(servers, handle, budget - 1, signed=signed)
        except NotHomed as refused:
            answer = refused
        if not signed:
            self._answers.keep(self._naming.key(Handle.parse(handle)), answer, self._ttl(answer))
        return answer

    async def _ask(
        self, servers: tuple[str, ...], handle: str, budget: int, *, signed: bool = False
    ) -> Answer | None:
        """The first server of the site that answers; the last failure when none does."""
        failure: UpstreamUnavailable | None = None
        for base in servers:
            try:
                self.asked += 1
                hops = DEFAULT_BUDGET - budget + 1
                return await self._remote.resolve(base, handle, hops=hops, signed=signed)
            except UpstreamUnavailable as exc:
                failure = exc
        raise failure or UpstreamUnavailable(f"no server to ask for {handle}")

    def _ttl(self, answer: Answer | NotHomed | None) -> float:
        return min(answer.ttl, self._max_ttl) if isinstance(answer, Answer) else self._negative_ttl

    # --- routes ----------------------------------------------------------------------------------------

    async def _route(self, handle: Handle, budget: int, *, afresh: bool = False) -> Route | None:
        """Where `handle` lives: the site of its prefix, or of the nearest prefix it derives from; the parent
        when none is known; None when nothing answers for it (a prefix of the node's own nobody holds)."""
        start = authority(handle)
        for candidate in ancestors(start) if start is not None else []:
            if candidate == self._own:  # the node's own prefix, whose site is this node: nobody else to ask
                return None
            if is_under(candidate, self._own):  # derived from the node's own: delegated from here, or nowhere
                route = await self._held_here(candidate, derived=candidate != start)
                if route is not None:
                    return route
                continue
            route = await self._site(candidate, budget, derived=candidate != start, afresh=afresh)
            if route is not None:
                return route
        return None if self._parent is None else Route((self._parent,), None)

    async def _held_here(self, prefix: str, *, derived: bool) -> Route | None:
        if not self._delegating:
            return None
        record = await self._local.resolve(Query(Handle.for_prefix(prefix), self._naming))
        return None if record is None else route_of(record, derived=derived)

    async def _site(self, prefix: str, budget: int, *, derived: bool, afresh: bool = False) -> Route | None:
        """The route of `prefix` (as kept, unless `afresh`: asked again, the kept one standing in if that
        fails)."""
        held, route = (False, None) if afresh else self._routes.fresh(prefix)
        if not held:
            try:
                route = await self._once(f"r:{budget}:{prefix}", lambda: self._find_site(prefix, budget))
            except UpstreamUnavailable:
                held, route = self._routes.stale(prefix)
                if not held:
                    raise
        return None if route is None else replace(route, derived=derived)

    async def _find_site(self, prefix: str, budget: int) -> Route | None:
        """The route `0.NA/<prefix>` names: held here (a top-level node's allocations), else the parent's.
        None when it names no site (an enterprise prefix, served by the site of the prefix it derives from:
        the walk goes on up), kept as long as the record says; "no such prefix" as long as "not found"."""
        route = await self._held_here(prefix, derived=False)
        ttl = self._negative_ttl
        if route is None and self._parent is not None:
            try:
                record = await self._remote.resolve(
                    self._parent, f"0.NA/{prefix}", hops=DEFAULT_BUDGET - budget + 1
                )
            except Referred as referred:
                record = referred.site
            if record is not None:
                route = route_of(record, derived=False)
                ttl = min(record.ttl, self._max_ttl)
        if route is not None and route.site is not None:
            ttl = min(route.site.ttl, self._max_ttl)
        self._routes.keep(prefix, route, ttl)
        return route

    async def _once(self, key: str, work: Callable[[], Awaitable[T]]) -> T:
        """`work`'s result, shared by everyone who asks for `key` while it runs. Keys name the budget: a query
        that comes back to this node through a loop must not wait for itself."""
        flight = self._flights.get(key)
        if flight is None:
            flight = self._flights[key] = asyncio.ensure_future(work())
            flight.add_done_callback(lambda done: self._landed(key, done))
        result: T = await asyncio.shield(flight)
        return result

    def _landed(self, key: str, flight: asyncio.Future[Any]) -> None:
        self._flights.pop(key, None)
        if not flight.cancelled():
            flight.exception()  # whoever waited has it; nobody else need be told it went unread
