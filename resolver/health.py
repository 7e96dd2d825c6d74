"""Whether the node's external dependencies answer: one owner for each, which everything else asks.

`Health` is the database's (and the model for any dependency): the parts that talk to it report what
happened, and it alone decides whether the dependency is up, when it is worth trying again, and what the
metrics say (`idnode_<name>_up`, `idnode_<name>_errors_total`). `RedisHealth` adds what Redis needs beyond
that: after an outage, Redis may hold answers whose invalidation it missed, so the shared cache stays unused
until the recent changes have been invalidated again (`behind_since`, `caught_up`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

# Told of each change of a dependency's state: the dependency, and the failure that took it down (None: up
# again). Called on the spot, so it must only note the change (reporting queues an event).
Listener = Callable[["Health", BaseException | None], None]

log = logging.getLogger("idnode.health")


class Health:
    def __init__(
        self, name: str, *, retry_after: float = 1.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.name = name
        self.up = True
        self.errors = 0
        self._retry_after = retry_after
        self._clock = clock
        self._retry_at = 0.0
        self.listeners: list[Listener] = []

    def failed(self, exc: BaseException) -> None:
        """A call to the dependency failed: it is down, and not worth trying for `retry_after` seconds."""
        self.errors += 1
        self._retry_at = self._clock() + self._retry_after
        if self.up:
            log.warning("%s unavailable: %r", self.name, exc)
            self.up = False
            for listener in self.listeners:
                listener(self, exc)

    def succeeded(self) -> None:
        """A call to the dependency answered."""
        self._retry_at = 0.0
        if not self.up:
            log.info("%s answers again", self.name)
            self.up = True
            for listener in self.listeners:
                listener(self, None)

    @property
    def worth_trying(self) -> bool:
        """False just after a failure: callers fail at once rather than each wait on a dependency that is
        down."""
        return self.up or self._clock() >= self._retry_at

    def metrics(self) -> list[tuple[str, str, float]]:
        """(name, kind, value) of this dependency's metrics."""
        return [
            (f"{self.name}_up", "gauge", int(self.up)),
            (f"{self.name}_errors_total", "counter", self.errors),
        ]


class RedisHealth(Health):
    def __init__(self, *, retry_after: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__("redis", retry_after=retry_after, clock=clock)
        self.behind_since: float | None = None  # epoch seconds of the outage whose changes Redis may lack

    def failed(self, exc: BaseException) -> None:
        if self.behind_since is None:
            self.behind_since = time.time()
        super().failed(exc)

    def caught_up(self) -> None:
        """Every change since the outage has been invalidated in Redis again: the shared cache may serve."""
        self.behind_since = None
        self.succeeded()

    @property
    def cache_usable(self) -> bool:
        return self.up and self.behind_since is None
