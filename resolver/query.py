"""What a front end asks the pipeline: a typed query, the same for every dialect."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from registry import Handle, Naming
from registry.visibility import Reader

if TYPE_CHECKING:
    from .answer import Answer

# How many more nodes a query may pass through on its way to an answer (the upstream stage spends it).
DEFAULT_BUDGET = 8


class View(Protocol):
    """One dialect's rendering of an answer, made once per cached entry and kept with it (`Answer.rendered`).

    `key` names the rendering among those an entry keeps; `render` must depend on the answer alone (never on
    the request), since every request for that handle gets the same bytes."""

    key: str

    def render(self, answer: Answer) -> bytes: ...


class Query:
    """A resolution: the handle (and its `key`: how the node tells handles apart), the values wanted (those
    matching ANY of `indexes` or `types`; all when both are empty), who reads (`reader`: None for an anonymous
    caller, who is shown the public values only), how many more nodes it may pass through (`budget`), whether
    a signed answer is wanted, and whether the node may ask other nodes for it (`recurse`; else a handle
    living elsewhere is answered with a referral).

    The reader does not change what the pipeline answers — one canonical record a handle, cached once — but
    what the front end shows of it (`Answer.select`, `Answer.readable`)."""

    __slots__ = ("budget", "handle", "indexes", "key", "reader", "recurse", "signature", "types")

    def __init__(
        self,
        handle: Handle,
        naming: Naming,
        *,
        indexes: Sequence[int] = (),
        types: Sequence[str] = (),
        reader: Reader | None = None,
        budget: int = DEFAULT_BUDGET,
        signature: bool = False,
        recurse: bool = True,
    ) -> None:
        # Built for every request: plain assignments, no copies (callers do not change what they pass).
        self.handle = handle
        self.key = naming.key(handle)
        self.indexes = indexes
        self.types = types
        self.reader = reader
        self.budget = budget
        self.signature = signature
        self.recurse = recurse

    @property
    def filtered(self) -> bool:
        return bool(self.indexes or self.types)

    def __repr__(self) -> str:
        return f"Query({self.key!r}, indexes={self.indexes}, types={self.types}, reader={self.reader})"
