"""A found record as the read path keeps and serves it: its public values, encoded once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

DEFAULT_TTL = 86_400


def _is_public(value: dict[str, Any]) -> bool:
    # Secret keys are never served, whatever their permissions say; "1110" (the default) is public read.
    permissions: str = value.get("permissions", "1110")
    return value["type"] != "HS_SECKEY" and permissions[2] == "1"


class Answer:
    """The public values of a record as the JSON array GET sends (`encoded`), their smallest TTL, and
    whether it is served `stale` (from a cache past its freshness, while the database is down)."""

    __slots__ = ("encoded", "stale", "ttl")

    def __init__(self, encoded: bytes, ttl: int, stale: bool = False) -> None:
        self.encoded = encoded
        self.ttl = ttl
        self.stale = stale

    @classmethod
    def from_stored(cls, stored: str | bytes) -> Answer:
        raw = stored.encode() if isinstance(stored, str) else stored
        values = orjson.loads(raw)
        public = [value for value in values if _is_public(value)]
        encoded = raw if len(public) == len(values) else orjson.dumps(public)
        return cls(encoded, _smallest_ttl(public))

    @property
    def values(self) -> list[dict[str, Any]]:
        """The values, parsed anew: most answers are sent as bytes, and cached answers stay bytes (parsed
        values kept in a large cache would be work for every full garbage collection)."""
        values: list[dict[str, Any]] = orjson.loads(self.encoded)
        return values

    def as_stale(self) -> Answer:
        return Answer(self.encoded, self.ttl, stale=True)

    def select(self, indexes: Sequence[int], types: Sequence[str]) -> list[dict[str, Any]]:
        """The values matching ANY of `indexes` or `types` (a type ending in '.' matches its subtypes)."""
        wanted_types = [t.upper() for t in types]
        return [v for v in self.values if v["index"] in indexes or _type_matches(v["type"], wanted_types)]

    def __repr__(self) -> str:
        return f"Answer({self.encoded!r}, ttl={self.ttl}, stale={self.stale})"


def _type_matches(value_type: str, wanted: Sequence[str]) -> bool:
    upper = value_type.upper()
    for want in wanted:
        if upper == want or (want.endswith(".") and (upper.startswith(want) or upper == want[:-1])):
            return True
    return False


def _smallest_ttl(values: Sequence[dict[str, Any]]) -> int:
    relative = [v["ttl"] for v in values if isinstance(v.get("ttl"), int)]
    return min(relative, default=DEFAULT_TTL)
