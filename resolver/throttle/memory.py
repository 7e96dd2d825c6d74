"""The throttle's counts in this process: the node without Redis, or while Redis is down.

Bounded: the oldest counts go first when more than `max_entries` are held, so a flood of addresses costs
memory up to the bound, not beyond.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

from .policy import KNOWN_FOR, LEASE, Keys, Limits, Outcome, Scope, Verdict, room


@dataclass
class _Count:
    failures: int = 0
    last: float = 0.0
    until: float = 0.0  # when the failures are forgotten
    pending: dict[str, float] = field(default_factory=dict)  # admitted attempts → until when they hold


class MemoryCounters:
    def __init__(self, limits: Limits, *, max_entries: int = 100_000) -> None:
        self._limits = limits
        self._max = max_entries
        self._counts: OrderedDict[str, _Count] = OrderedDict()
        self._known: OrderedDict[str, float] = OrderedDict()

    async def admit(self, keys: Keys, ticket: str, now: float) -> Verdict:
        known = self._is_known(keys, now)
        applying = _applying(keys, known)
        worst = Verdict(True, known=known)
        busy = False
        for scope in applying:
            count = self._get(scope, now)
            if count is None:
                continue
            wait = self._limits.delay(count.failures, scope.free) - (now - count.last)
            if wait > worst.wait:
                worst = Verdict(False, wait, scope.kind, count.failures)
            count.pending = {t: until for t, until in count.pending.items() if until > now}
            busy = busy or len(count.pending) >= room(count.failures, scope.free)
        if not worst.admitted:
            return worst
        if busy:
            return Verdict(False, busy=True)
        for scope in applying:
            count = self._get(scope, now) or self._put(scope, _Count())
            count.pending[ticket] = now + LEASE
        return worst

    async def settle(self, keys: Keys, ticket: str, outcome: Outcome, now: float) -> None:
        for scope in keys.scopes:
            count = self._get(scope, now)
            if count is not None:
                count.pending.pop(ticket, None)
        if outcome is Outcome.SUCCEEDED:
            self._counts.pop(_name(keys.scopes[0]), None)
            if keys.known is not None:
                self._remember(keys.known, now + KNOWN_FOR)
        elif outcome is Outcome.FAILED:
            for scope in _applying(keys, self._is_known(keys, now)):
                self._failed(scope, now)

    def _failed(self, scope: Scope, now: float) -> None:
        count = self._get(scope, now) or self._put(scope, _Count())
        count.failures += 1
        count.last = now
        count.until = max(count.until, now + self._limits.keep(count.failures, scope.free))
        self._counts.move_to_end(_name(scope))

    def _get(self, scope: Scope, now: float) -> _Count | None:
        """The scope's count, its failures forgotten past their window (and itself, with no attempt held)."""
        name = _name(scope)
        count = self._counts.get(name)
        if count is not None and count.until <= now:
            count.failures, count.last = 0, 0.0
            count.pending = {t: until for t, until in count.pending.items() if until > now}
            if not count.pending:
                del self._counts[name]
                return None
        return count

    def _put(self, scope: Scope, count: _Count) -> _Count:
        self._counts[_name(scope)] = count
        while len(self._counts) > self._max:
            self._counts.popitem(last=False)
        return count

    def _is_known(self, keys: Keys, now: float) -> bool:
        return keys.known is not None and self._known.get(keys.known, 0.0) > now

    def _remember(self, known: str, until: float) -> None:
        self._known[known] = until
        self._known.move_to_end(known)
        while len(self._known) > self._max:
            self._known.popitem(last=False)


def _name(scope: Scope) -> str:
    return f"{scope.kind}:{scope.digest}"


def _applying(keys: Keys, known: bool) -> tuple[Scope, ...]:
    """The scopes an attempt is measured by: all, but the account's for an address the account knows."""
    if not known:
        return keys.scopes
    return tuple(scope for scope in keys.scopes if scope.kind != "account")
