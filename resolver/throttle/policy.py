"""The throttle's rule, shared by its two stores of counts (in process, Redis): scopes, delays, verdicts."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from enum import Enum

# Failures from one address across accounts, and for one account from addresses it was not used from, before
# delays start: multiples of the per-(account, address) allowance.
SOURCE_FACTOR, ACCOUNT_FACTOR = 4, 10
BASE_DELAY = 1.0  # seconds: the first delay, doubled by each further failure
LEASE = 60.0  # seconds an admitted attempt holds its place at most (a process that died mid-check lets go)
KNOWN_FOR = 30 * 24 * 3600.0  # seconds an address stays known to an account after it logged in from there


class Outcome(Enum):
    SUCCEEDED = "ok"
    FAILED = "fail"
    RELEASED = "release"  # neither: the check itself failed (the database down), the attempt tells nothing


@dataclass(frozen=True, slots=True)
class Limits:
    """How many failures each scope forgives, and how long delays and memories last (seconds)."""

    failures: int = 5
    lockout_max: float = 900.0
    window: float = 3600.0
    base: float = BASE_DELAY

    def delay(self, failures: int, free: int) -> float:
        """How long after its last failure a scope with `failures` (forgiving `free`) refuses attempts."""
        if failures < free:
            return 0.0
        return min(self.lockout_max, self.base * 2.0 ** min(failures - free, 60))

    def keep(self, failures: int, free: int) -> float:
        """How long a scope's count is kept after a failure: the window, or the delay if longer."""
        return max(self.window, self.delay(failures, free))


@dataclass(frozen=True, slots=True)
class Scope:
    """One count an attempt is measured by: its kind (`pair`, `source`, `account`, `token`), the digest of
    what it counts (account and/or address, hashed: keys of a fixed size, no user input in Redis key names),
    and how many failures it forgives."""

    kind: str
    digest: str
    free: int


def digest(*parts: str) -> str:
    return hashlib.blake2b("\0".join(parts).encode(), digest_size=16).hexdigest()


@dataclass(frozen=True, slots=True)
class Keys:
    """What one attempt is counted under. `known` is the digest of (account, address): when that address
    has logged in to the account lately, the `account` scope does not apply to it."""

    scopes: tuple[Scope, ...]
    known: str | None = None


def password_keys(limits: Limits, account: str, source: str) -> Keys:
    """A password (or Basic secret) for `account` from `source`."""
    pair = digest(account, source)
    return Keys(
        (
            Scope("pair", pair, limits.failures),
            Scope("source", digest(source), limits.failures * SOURCE_FACTOR),
            Scope("account", digest(account), limits.failures * ACCOUNT_FACTOR),
        ),
        known=pair,
    )


def token_keys(limits: Limits, source: str) -> Keys:
    """A bearer token whose signature does not verify, from `source`: counted apart from passwords, so that
    clients holding tokens of another node (or of a re-initialised one) never delay their address's logins."""
    return Keys((Scope("token", digest(source), limits.failures * SOURCE_FACTOR),))


@dataclass(frozen=True, slots=True)
class Verdict:
    """An admission: `admitted`; or refused for `wait` seconds by the scope `kind` at `failures`; or `busy`:
    as many attempts are being checked as the scope forgives, and this one may be admitted in a moment."""

    admitted: bool
    wait: float = 0.0
    kind: str = ""
    failures: int = 0
    busy: bool = False
    known: bool = False

    @property
    def retry_after(self) -> int:
        """Whole seconds for `Retry-After`, at least 1."""
        return max(1, math.ceil(self.wait))


def room(failures: int, free: int) -> int:
    """How many attempts a scope lets be checked at once: what it still forgives, or one past the delay."""
    return max(free - failures, 1)
