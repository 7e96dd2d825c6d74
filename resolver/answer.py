"""A found record as the read path keeps and serves it: its public values, encoded once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

DEFAULT_TTL = 86_400


def _is_public(value: dict[str, Any]) -> bool:
    # Secret keys are never served, whatever their permissions say; "1110" (the default) is public read.
    permissions: str = value.get("permissions", "1110")
    return value["type"] != "HS_SECKEY" and permissions[2] == "1"


@dataclass(frozen=True, slots=True)
class Answer:
    """The public values of a record: parsed (for filters) and as the JSON array GET sends."""

    values: tuple[dict[str, Any], ...]
    encoded: bytes
    ttl: int

    @classmethod
    def from_stored(cls, stored: str | bytes) -> Answer:
        raw = stored.encode() if isinstance(stored, str) else stored
        values = orjson.loads(raw)
        public = tuple(value for value in values if _is_public(value))
        encoded = raw if len(public) == len(values) else orjson.dumps(public)
        return cls(public, encoded, _smallest_ttl(public))

    def select(self, indexes: Sequence[int], types: Sequence[str]) -> list[dict[str, Any]]:
        """The values matching ANY of `indexes` or `types` (a type ending in '.' matches its subtypes)."""
        wanted_types = [t.upper() for t in types]
        return [v for v in self.values if v["index"] in indexes or _type_matches(v["type"], wanted_types)]


def _type_matches(value_type: str, wanted: Sequence[str]) -> bool:
    upper = value_type.upper()
    for want in wanted:
        if upper == want or (want.endswith(".") and (upper.startswith(want) or upper == want[:-1])):
            return True
    return False


def _smallest_ttl(values: Sequence[dict[str, Any]]) -> int:
    relative = [v["ttl"] for v in values if isinstance(v.get("ttl"), int)]
    return min(relative, default=DEFAULT_TTL)
