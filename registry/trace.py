"""Trace queries: the genealogy of an identifier, up toward its origins and down toward its products.

`trace` answers in one recursive query (`store.link_rows.walk`, however deep) and one read of the records
reached, limited in depth (default 10, at most 50) and in size (at most 5,000 records: the answer says
`truncated`). Up from a vehicle: the parts installed in it, the coils they were made from, the slabs, the
heat; down from a heat: everything made from it, to the vehicles.

Visibility is the resolver's (`registry.visibility`): a node shows the values its caller may read of it
(anonymous: the public ones), and a link is an edge only when its caller may read the link value itself; what
is reached only through links it may not read is not shown. A record its caller may read nothing of is shown
as its handle with no values (that it exists is no secret: a GET answers for it). A link's target that is
not stored here (another node's, or deleted since) is a node with `stored` false.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from .errors import HandleNotFound, InvalidInput
from .handle import Handle
from .links import normalise_relation, relation_of
from .naming import Naming
from .store import link_rows
from .store.engine import Store
from .store.link_rows import Step, Way
from .values import HS_ADMIN, TEMPLATE
from .visibility import JsonValue, Reader, public_values

Direction = Literal["up", "down", "both"]
DIRECTIONS: dict[str, tuple[Way, ...]] = {"up": ("up",), "down": ("down",), "both": ("up", "down")}
DEFAULT_DEPTH, MAX_DEPTH = 10, 50
MAX_NODES = 5_000
# A node's main values: its URL and the first few string values of its template (kept small: a trace is a
# map, a GET of a node gives the rest).
MAIN_VALUES = 6


@dataclass(frozen=True, slots=True)
class TraceNode:
    handle: str
    depth: int  # links from the root (0: the root)
    values: dict[str, str] = field(default_factory=dict)
    stored: bool = True

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"handle": self.handle, "depth": self.depth, "values": self.values}
        if not self.stored:
            out["stored"] = False
        return out


@dataclass(frozen=True, slots=True)
class TraceEdge:
    """A link as it was declared: the record `source` holds a value of type `type` naming `target`."""

    source: str
    target: str
    type: str

    def to_json(self) -> dict[str, Any]:
        return {"from": self.source, "to": self.target, "type": self.type}


@dataclass(frozen=True, slots=True)
class Trace:
    handle: str
    direction: Direction
    depth: int
    nodes: list[TraceNode]
    edges: list[TraceEdge]
    truncated: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "handle": self.handle,
            "direction": self.direction,
            "depth": self.depth,
            "nodes": [node.to_json() for node in self.nodes],
            "edges": [edge.to_json() for edge in self.edges],
            "truncated": self.truncated,
        }


def check_direction(text: str | None) -> Direction:
    if text is None:
        return "both"
    if text not in DIRECTIONS:
        raise InvalidInput(f"direction is up, down or both, not {text!r}")
    return text  # type: ignore[return-value]


def check_depth(depth: int | None) -> int:
    if depth is None:
        return DEFAULT_DEPTH
    if not 1 <= depth <= MAX_DEPTH:
        raise InvalidInput(f"depth is from 1 to {MAX_DEPTH}, not {depth}")
    return depth


async def trace(
    store: Store,
    naming: Naming,
    root: Handle,
    *,
    direction: str | None = None,
    depth: int | None = None,
    types: Sequence[str] = (),
    reader: Reader | None = None,
    max_nodes: int = MAX_NODES,
) -> Trace:
    """The genealogy of `root` as `reader` (None: anonymous) may see it; `types` limits it to those relations
    (`madeFrom` or `LINK.madeFrom`). `HandleNotFound` when `root` is not stored here."""
    way = check_direction(direction)
    hops = check_depth(depth)
    # A type no value can have (empty, unprintable, too long) matches nothing and is not sent to the database.
    relations = sorted({r for r in map(normalise_relation, types) if r.isprintable() and 0 < len(r) <= 255})
    key = naming.key(root)
    cap = 4 * max_nodes
    async with store.reader.connect() as conn:
        root_row = await link_rows.named_records(conn, [key])
        if key not in root_row:
            raise HandleNotFound(handle=str(root))
        steps = []
        if relations or not types:
            steps = await link_rows.walk(conn, key, DIRECTIONS[way], depth=hops, types=relations, cap=cap)
        keys = sorted({step.reached for step in steps} - {key})
        stored = {**root_row, **await link_rows.named_records(conn, keys[: cap + 1])}
    full = any(sum(1 for s in steps if s.way == w) >= cap for w in DIRECTIONS[way])
    return _Graph(key, stored, reader).build(root, way, hops, steps, max_nodes, truncated=full)


class _Graph:
    """The trace's graph as the reader sees it, from the walk's steps and the records they reached."""

    def __init__(self, root: str, stored: dict[str, tuple[str, str]], reader: Reader | None) -> None:
        self.root = root
        self.stored = stored
        self.reader = reader
        self.visible: dict[str, list[JsonValue]] = {}

    def values_of(self, key: str) -> list[JsonValue]:
        if key not in self.visible:
            name, values_json = self.stored.get(key, (key, "[]"))
            values: list[JsonValue] = orjson.loads(values_json)
            shown = None if self.reader is None else self.reader.view(Handle.parse(name), values)
            self.visible[key] = public_values(values) if shown is None else shown
        return self.visible[key]

    def readable_link(self, step: Step) -> bool:
        """Whether the reader may read the link value the step crossed."""
        return any(
            v.get("index") == step.idx and relation_of(str(v.get("type"))) == step.relation
            for v in self.values_of(step.source)
        )

    def build(
        self, root: Handle, way: Direction, hops: int, steps: list[Step], max_nodes: int, *, truncated: bool
    ) -> Trace:
        depths: dict[str, int] = {self.root: 0}
        names: dict[str, str] = {}
        edges: dict[tuple[str, int], TraceEdge] = {}
        for ways in DIRECTIONS[way]:
            near: dict[str, dict[tuple[str, int], Step]] = {}
            for step in steps:
                if step.way == ways:
                    end = step.product if ways == "up" else step.origin
                    near.setdefault(end, {})[(step.source, step.idx)] = step
            # Breadth first from the root, over the links the reader may read: the nearest kept first.
            frontier = [self.root]
            for depth in range(1, hops + 1):
                reached: list[str] = []
                for at in frontier:
                    for link, step in sorted(near.get(at, {}).items()):
                        if not self.readable_link(step):
                            continue
                        if step.reached not in depths:
                            if len(depths) >= max_nodes:
                                truncated = True
                                continue
                            depths[step.reached] = depth
                            reached.append(step.reached)
                        names.setdefault(step.target, step.target_name)
                        source = self.stored.get(step.source, (step.source, ""))[0]
                        edges[link] = TraceEdge(source, step.target_name, step.relation)
                frontier = reached
        nodes = [self.node(key, names.get(key, key), depth) for key, depth in depths.items()]
        return Trace(str(root), way, hops, nodes, list(edges.values()), truncated)

    def node(self, key: str, name: str, depth: int) -> TraceNode:
        if key not in self.stored:
            return TraceNode(name, depth, stored=False)
        return TraceNode(self.stored[key][0], depth, main_values(self.values_of(key)))


def main_values(values: Sequence[JsonValue]) -> dict[str, str]:
    """A node's main values, type → text: its URL, then its first string values (links, administrators and
    the template version left out)."""
    shown: dict[str, str] = {}
    ordered = sorted(values, key=lambda v: (v.get("type") != "URL", v.get("index", 0)))
    for value in ordered:
        type_ = str(value.get("type", ""))
        data = value.get("data")
        text = data.get("value") if isinstance(data, dict) and data.get("format") == "string" else None
        if (
            not isinstance(text, str)
            or type_ in shown
            or type_ in (HS_ADMIN, TEMPLATE)
            or type_.startswith("HS_")
            or relation_of(type_) is not None
        ):
            continue
        shown[type_] = text
        if len(shown) == MAIN_VALUES:
            break
    return shown
