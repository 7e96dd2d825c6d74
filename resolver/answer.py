"""A found record as the read path keeps and serves it: the canonical record, encoded once, and the
renderings each dialect made of it.

The canonical record is the record's values in the Handle System's JSON form, as the store keeps them, with
secret keys taken out (they never leave the store stage). Non-public values stay in it — those only the
record's administrators read, and those shared with listed enterprises (`readers`): which values a caller
sees is the front end's choice, by `registry.visibility`, the one rule of every dialect. Renderings kept with
an answer are of its public values only; what an authenticated reader is shown beyond them is made for its
request and never kept (`readable`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import orjson

from registry.values import DEFAULT_TTL, HS_SECKEY
from registry.visibility import public_values, value_public

from .query import Query, View

Renderings = tuple[tuple[str, bytes], ...]


class Keeper(Protocol):
    """Where an answer came from, to be told of a rendering made of it (a cache keeps it with the entry)."""

    def kept(self, key: str, answer: Answer) -> None: ...


class Answer:
    """`record` (the canonical JSON array), its smallest TTL, whether every value in it is `public`, whether
    it is served `stale` (from a cache past its freshness, while the database is down), the renderings made
    of it so far, and the `keeper` to tell of new ones (with the `key` it keeps the answer under)."""

    __slots__ = ("keeper", "key", "public", "record", "renderings", "stale", "ttl")

    # Another node's answer (`RemoteAnswer`, the upstream's), whatever cache holds it now; and the origin's
    # signed rendering, when one was asked for. Class attributes here: a local answer, made for every hit,
    # pays nothing for them.
    remote = False
    signed: bytes | None = None

    def __init__(
        self, record: bytes, ttl: int, public: bool, *, stale: bool = False, renderings: Renderings = ()
    ) -> None:
        self.record = record
        self.ttl = ttl
        self.public = public
        self.stale = stale
        self.renderings = renderings
        self.keeper: Keeper | None = None
        self.key = ""

    @classmethod
    def from_stored(cls, stored: str | bytes) -> Answer:
        raw = stored.encode() if isinstance(stored, str) else stored
        values = orjson.loads(raw)
        kept = []
        public = True
        for value in values:  # one pass: this is every cache miss's work
            if value["type"] != HS_SECKEY:
                kept.append(value)
                public = public and value_public(value)
        record = raw if len(kept) == len(values) else orjson.dumps(kept)
        return cls(record, _smallest_ttl(kept), public)

    def values(self) -> list[dict[str, Any]]:
        """The values, parsed anew: cached answers stay bytes (parsed values kept in a large cache would be
        work for every full garbage collection)."""
        values: list[dict[str, Any]] = orjson.loads(self.record)
        return values

    def public_values(self) -> list[dict[str, Any]]:
        values = self.values()
        return values if self.public else public_values(values)

    def public_record(self) -> bytes:
        """The JSON array of the values anyone may read."""
        return self.record if self.public else orjson.dumps(self.public_values())

    def readable(self, query: Query) -> list[dict[str, Any]] | None:
        """The values `query`'s reader may read beyond the public ones, with them, in the record's order; None
        when it reads the public values only (an anonymous query, or a reader the record shares nothing
        more with), which every such caller is shown alike, from the kept renderings."""
        if query.reader is None or self.public:
            return None
        return query.reader.view(query.handle, self.values())

    def select(self, query: Query) -> list[dict[str, Any]]:
        """The values `query` asks for: those its reader may read (the public ones for an anonymous query),
        then those matching ANY of its indexes or types (a type ending in '.' matches its subtypes)."""
        values = None if query.reader is None else self.readable(query)  # anonymous: no more work than before
        if values is None:
            values = self.public_values()
        if not query.filtered:
            return values
        wanted = [t.upper() for t in query.types]
        return [v for v in values if v["index"] in query.indexes or _type_matches(v["type"], wanted)]

    def rendered(self, view: View) -> bytes:
        """`view`'s rendering of this answer, made on first use and kept — unless it is the record itself
        (Handle REST's view of a record whose values are all public), which is kept already."""
        for key, body in self.renderings:
            if key == view.key:
                return body
        body = view.render(self)
        if body is not self.record:
            # A cached entry then holds tuples, which the garbage collector tracks until it has looked at
            # them once: kept renderings are for the views that differ from the record.
            self.renderings = (*self.renderings, (view.key, body))
            if self.keeper is not None:
                self.keeper.kept(self.key, self)
        return body

    def as_stale(self) -> Answer:
        return type(self)(self.record, self.ttl, self.public, stale=True, renderings=self.renderings)

    def __repr__(self) -> str:
        return f"Answer({self.record!r}, ttl={self.ttl}, public={self.public}, stale={self.stale})"


class RemoteAnswer(Answer):
    """An answer another node gave (the upstream stage's). `signed`: the origin node's signed Handle REST
    answer, for a query that asked for a signature, passed on as it came so that the client checks the
    origin's signature."""

    __slots__ = ("signed",)
    remote = True

    def __init__(
        self, record: bytes, ttl: int, public: bool, *, stale: bool = False, renderings: Renderings = ()
    ) -> None:
        super().__init__(record, ttl, public, stale=stale, renderings=renderings)
        self.signed: bytes | None = None


def _type_matches(value_type: str, wanted: Sequence[str]) -> bool:
    upper = value_type.upper()
    for want in wanted:
        if upper == want or (want.endswith(".") and (upper.startswith(want) or upper == want[:-1])):
            return True
    return False


def _smallest_ttl(values: Sequence[dict[str, Any]]) -> int:
    relative = [v["ttl"] for v in values if isinstance(v.get("ttl"), int)]
    return min(relative, default=DEFAULT_TTL)
