"""When to send a call again, and after how long: exponential backoff with full jitter."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

RETRIABLE_STATUS = frozenset({429, 500, 502, 503, 504})
SNMS_INTERNAL = -4


@dataclass(frozen=True)
class Retries:
    """Up to `attempts` sends of a call that is safe to repeat; waits grow from `base` seconds to `cap`."""

    attempts: int = 4
    base: float = 0.2
    cap: float = 5.0
    rng: random.Random = field(default_factory=random.Random, compare=False)

    def delay(self, attempt: int) -> float:
        """Seconds to wait before attempt `attempt + 1` (attempts count from 1)."""
        return self.rng.uniform(0, min(self.cap, self.base * 2 ** (attempt - 1)))


def busy(status: int, body: object) -> bool:
    """Whether an answer means "try again later": busy or failing servers, and SNMS's internal error."""
    if status in RETRIABLE_STATUS:
        return True
    return isinstance(body, dict) and body.get("status") == SNMS_INTERNAL and "data" in body
