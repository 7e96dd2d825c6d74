"""`AuthThrottle`: what front ends consult around every password and Basic-secret check (see the package's
docstring for the rule), and what reports failures and throttling to a listener (the audit)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import os
import secrets
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from registry import AuthenticationFailed

from ..cache.redis_link import REDIS_FAILURES
from ..health import RedisHealth
from ..metrics import Metrics
from .memory import MemoryCounters
from .policy import Keys, Limits, Outcome, Verdict, password_keys, token_keys
from .shared import RedisCounters
from .sources import Sources

log = logging.getLogger("idnode.throttle")

PROVEN_FOR = 60.0  # seconds a just-verified secret is taken as no guess, like the registry's verified cache
BUSY_PAUSES = (0.05, 0.1, 0.2, 0.4, 0.8, 1.6)  # waits for a place among the attempts being checked
MAX_WAITING = 256  # attempts of this process waiting for a place at once; beyond, refused at once
_MEMORY = 10_000  # proven secrets and reported refusals remembered


@dataclass(frozen=True, slots=True)
class AuthEvent:
    """An authentication failure or a refusal, for the audit: never the secret."""

    kind: Literal["auth_failed", "throttled"]
    account: str | None  # None: a bearer token that names nobody
    source: str
    dialect: str  # "handle_rest", "snms"


Listener = Callable[[AuthEvent], Awaitable[None]]


class Throttled(Exception):
    """Too many failed authentications: try again later."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed authentications; try again in {retry_after} s")
        self.retry_after = retry_after


class Counters(Protocol):
    async def admit(self, keys: Keys, ticket: str, now: float) -> Verdict: ...
    async def settle(self, keys: Keys, ticket: str, outcome: Outcome, now: float) -> None: ...


class AuthThrottle:
    """Counts failures per (account, address), address and account, in Redis when the node has it."""

    def __init__(
        self,
        limits: Limits,
        *,
        sources: Sources | None = None,
        shared: RedisCounters | None = None,
        redis: RedisHealth | None = None,
        metrics: Metrics | None = None,
        listener: Listener | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self.limits = limits
        self.listener = listener
        self._sources = sources or Sources()
        self._memory = MemoryCounters(limits)
        self._shared = shared
        self._redis = redis
        self._metrics = metrics or Metrics()
        self._clock = clock
        self._sleep = sleep
        self._proof_key = os.urandom(32)
        self._proven: OrderedDict[bytes, float] = OrderedDict()
        self._reported: OrderedDict[tuple[object, ...], None] = OrderedDict()
        self._waiting = 0

    def source_of(self, scope: Mapping[str, Any]) -> str:
        """The address an ASGI request is counted under."""
        return self._sources.of_scope(scope)

    @contextlib.asynccontextmanager
    async def attempt(self, *, account: str, secret: str, source: str, dialect: str) -> AsyncIterator[None]:
        """`async with throttle.attempt(…): <check the secret>` — refused (`Throttled`) before the check when
        the account or address is held back; the check's `AuthenticationFailed` counts as a failure, its
        success clears the (account, address) count, any other exception leaves the counts as they were."""
        keys = password_keys(self.limits, account, source)
        proof, ticket = self._proof(account, source, secret), secrets.token_hex(8)
        # A secret that was right a moment ago is no guess: a client's stream of Basic-authenticated writes
        # is neither counted nor held up by the attempts being checked.
        counters = None
        if not self._is_proven(proof):
            counters = await self._admit(keys, ticket, account, source, dialect, proof)
        try:
            yield
        except AuthenticationFailed:
            self._prove(proof, False)
            await self._report(AuthEvent("auth_failed", account, source, dialect))
            await self._settle(counters or self._current(), keys, ticket, Outcome.FAILED)
            raise
        except BaseException:
            if counters is not None:
                await self._settle(counters, keys, ticket, Outcome.RELEASED)
            raise
        self._prove(proof, True)
        if counters is not None:
            await self._settle(counters, keys, ticket, Outcome.SUCCEEDED)

    async def forged_token(self, *, source: str, dialect: str) -> None:
        """A bearer token whose signature does not verify came from `source`: `Throttled` if the address is
        held back for such tokens, else the failure is counted (the caller then refuses the token)."""
        keys = token_keys(self.limits, source)
        ticket = secrets.token_hex(8)
        counters = await self._admit(keys, ticket, None, source, dialect)
        assert counters is not None  # only a proven secret passes without a place
        await self._report(AuthEvent("auth_failed", None, source, dialect))
        await self._settle(counters, keys, ticket, Outcome.FAILED)

    # -- the steps of an attempt ------------------------------------------------------------------------

    def _proof(self, account: str, source: str, secret: str) -> bytes:
        return hmac.digest(self._proof_key, f"{account}\0{source}\0{secret}".encode(), hashlib.sha256)

    def _is_proven(self, proof: bytes) -> bool:
        return self._proven.get(proof, 0.0) > self._clock()

    def _prove(self, proof: bytes, proven: bool) -> None:
        if not proven:
            self._proven.pop(proof, None)
            return
        self._proven[proof] = self._clock() + PROVEN_FOR
        self._proven.move_to_end(proof)
        while len(self._proven) > _MEMORY:
            self._proven.popitem(last=False)

    async def _admit(
        self,
        keys: Keys,
        ticket: str,
        account: str | None,
        source: str,
        dialect: str,
        proof: bytes | None = None,
    ) -> Counters | None:
        """The counters that admitted the attempt (None: its secret proved right meanwhile); `Throttled` if
        none would."""
        for pause in (*BUSY_PAUSES, None):
            counters, verdict = await self._ask(keys, ticket)
            if verdict.admitted:
                return counters
            if not verdict.busy or pause is None or self._waiting >= MAX_WAITING:
                break
            # As many attempts are being checked as the scope forgives: one of them ends in a moment, and
            # when it proves the secret right, those waiting with the same secret pass at once.
            self._waiting += 1
            try:
                await self._sleep(pause)
            finally:
                self._waiting -= 1
            if proof is not None and self._is_proven(proof):
                return None
        self._metrics.auth_throttled += 1
        if self._first_refusal(verdict, account, source):
            await self._report(AuthEvent("throttled", account, source, dialect))
        raise Throttled(verdict.retry_after)

    def _current(self) -> Counters:
        return self._usable_shared() or self._memory

    async def _ask(self, keys: Keys, ticket: str) -> tuple[Counters, Verdict]:
        shared = self._usable_shared()
        now = self._clock()
        if shared is not None:
            try:
                verdict = await shared.admit(keys, ticket, now)
            except REDIS_FAILURES as exc:
                self._redis_failed(exc)
            else:
                self._redis_answered()
                return shared, verdict
        return self._memory, await self._memory.admit(keys, ticket, now)

    async def _settle(self, counters: Counters, keys: Keys, ticket: str, outcome: Outcome) -> None:
        try:
            await counters.settle(keys, ticket, outcome, self._clock())
        except REDIS_FAILURES as exc:
            # The attempt's place lapses with its lease; a failure it would have counted is counted here.
            self._redis_failed(exc)
            if outcome is Outcome.FAILED:
                await self._memory.settle(keys, ticket, outcome, self._clock())

    def _usable_shared(self) -> RedisCounters | None:
        if self._shared is None or (self._redis is not None and not self._redis.worth_trying):
            return None
        return self._shared

    def _redis_failed(self, exc: BaseException) -> None:
        if self._redis is not None:
            self._redis.failed(exc)

    def _redis_answered(self) -> None:
        if self._redis is not None and not self._redis.up:
            self._redis.succeeded()

    def _first_refusal(self, verdict: Verdict, account: str | None, source: str) -> bool:
        """Whether this refusal is the first of its kind here: a flood of refused attempts is one event per
        scope and delay step, not one per request (each would otherwise be an audit row)."""
        key = (verdict.kind, verdict.failures, verdict.busy, account, source)
        if key in self._reported:
            return False
        self._reported[key] = None
        while len(self._reported) > _MEMORY:
            self._reported.popitem(last=False)
        return True

    async def _report(self, event: AuthEvent) -> None:
        if event.kind == "auth_failed":
            self._metrics.auth_failures += 1
        if self.listener is None:
            return
        try:
            await self.listener(event)
        except Exception:  # the audit failing must not turn a refusal into a server error
            log.exception("the authentication event listener failed on %s", event)
