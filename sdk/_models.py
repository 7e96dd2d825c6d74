"""What the SDK hands back and takes: handle values, records, and the results of writes."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

TEMPLATE_INDEX = 1001
LINK_INDEXES = range(500, 1000)  # system range: links are not a data template's business
# Link values the node knows by their type alone; `LINK.<relation>` is the SDK's spelling of any relation.
LINK_TYPES = ("madeFrom", "installedIn", "shippedIn")


@dataclass(frozen=True, slots=True)
class HandleValue:
    """One value of a record: `index`, `type` and `value` (text for the `string` format)."""

    index: int
    type: str
    value: Any
    format: str = "string"
    ttl: int = 86_400
    timestamp: str | None = None

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> HandleValue:
        data = obj.get("data")
        fmt, value = ("string", data) if isinstance(data, str) else (data["format"], data["value"])  # type: ignore[index]
        ttl = obj.get("ttl", 86_400)
        return cls(
            obj["index"],
            obj["type"],
            value,
            fmt,
            ttl if isinstance(ttl, int) else 86_400,
            obj.get("timestamp"),
        )

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "type": self.type, "data": {"format": self.format, "value": self.value}}

    @property
    def text(self) -> str | None:
        return self.value if self.format == "string" and isinstance(self.value, str) else None


@dataclass(frozen=True, slots=True)
class Record:
    """A handle's values, in index order."""

    handle: str
    values: tuple[HandleValue, ...]

    @classmethod
    def from_json(cls, handle: str, values: Sequence[Mapping[str, Any]]) -> Record:
        return cls(handle, tuple(sorted((HandleValue.from_json(v) for v in values), key=lambda v: v.index)))

    def __iter__(self) -> Iterator[HandleValue]:
        return iter(self.values)

    def get(self, type: str) -> str | None:
        """The text of the first value of `type`."""
        return next((v.text for v in self.values if v.type == type), None)

    def as_dict(self) -> dict[str, str]:
        """Type → text of the string values (the last one wins when a type repeats)."""
        return {v.type: v.text for v in self.values if v.text is not None}

    @property
    def template_version(self) -> str | None:
        return next((v.text for v in self.values if v.index == TEMPLATE_INDEX), None)

    @property
    def ttl(self) -> int:
        return min((v.ttl for v in self.values), default=0)

    @property
    def links(self) -> dict[str, list[str]]:
        """Relation → the handles this record links to (values `LINK.<relation>`, and `madeFrom`,
        `installedIn` and `shippedIn`, which are `LINK.madeFrom`… by another name)."""
        found: dict[str, list[str]] = {}
        for value in self.values:
            relation = value.type[5:] if value.type.startswith("LINK.") else value.type
            if (value.type.startswith("LINK.") or value.type in LINK_TYPES) and relation and value.text:
                found.setdefault(relation, []).append(value.text)
        return found

    def business(self) -> list[tuple[int, str, str]]:
        """`(index, type, text)` of the template and business values, to compare content."""
        return sorted(
            (v.index, v.type, v.text or "")
            for v in self.values
            if v.index == TEMPLATE_INDEX or v.index >= 2000
        )


Status = Literal["created", "existed", "updated", "deleted", "linked", "queued", "failed"]


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What became of one write: done (`created`, `existed` — a retry met its own earlier success —,
    `updated`, `deleted`, `linked`), `queued` in the outbox while the node is unreachable, or `failed`."""

    handle: str
    status: Status
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status != "failed"


@dataclass(frozen=True, slots=True)
class BatchResult:
    """The results of a batch, in the order of its records."""

    items: list[WriteResult] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[WriteResult]:
        return iter(self.items)

    def count(self, status: Status) -> int:
        return sum(item.status == status for item in self.items)

    @property
    def failed(self) -> list[WriteResult]:
        return [item for item in self.items if item.status == "failed"]

    @property
    def ok(self) -> bool:
        return not self.failed


@dataclass(frozen=True, slots=True)
class ScanField:
    """One field of a scanned label: a GS1 application identifier (`scheme` "ai", `code` "01") or an ANSI
    MH10.8.2 data identifier (`scheme` "di", `code` "1J"), its name and its value."""

    scheme: Literal["ai", "di"]
    code: str
    name: str
    value: str


@dataclass(frozen=True, slots=True)
class ScanResult:
    """What the node understood a scanned label as: its `kind` (`iso15434`, `gs1`, `gs1_digital_link`,
    `node_url`, `handle`), its `fields`, named, the `keys` they give (`gtin`, `lot`, `serial`, `sscc`,
    `partNumber`, `licensePlate`, …), the `handles` it names and their `records` (None where a handle does not
    exist). Keys are not looked up yet: a GS1 or ISO/IEC 15434 label leads to records only when a field holds
    a handle of the node's (`note` says so)."""

    kind: str
    fields: tuple[ScanField, ...]
    keys: Mapping[str, str]
    handles: tuple[str, ...]
    records: tuple[Record | None, ...]
    note: str | None = None

    def field(self, code: str) -> str | None:
        """The value of the first field whose AI or data identifier is `code`."""
        return next((f.value for f in self.fields if f.code == code), None)


@dataclass(frozen=True, slots=True)
class TraceNode:
    """A record a trace reached, `depth` links from its root: its main values the caller may read (type →
    text); `stored` is false for a handle that is not stored on the node (another node's)."""

    handle: str
    depth: int
    values: Mapping[str, str] = field(default_factory=dict)
    stored: bool = True


@dataclass(frozen=True, slots=True)
class TraceEdge:
    """A link as declared: the record `source` holds a value of type `type` naming `target`."""

    source: str
    target: str
    type: str


@dataclass(frozen=True, slots=True)
class Trace:
    """The genealogy of `handle`: the records reached `direction` (up toward origins, down toward products,
    or both) within `depth` links, and the links between them; `truncated` when the node cut it short."""

    handle: str
    direction: str
    depth: int
    nodes: tuple[TraceNode, ...]
    edges: tuple[TraceEdge, ...]
    truncated: bool = False

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Trace:
        nodes = tuple(
            TraceNode(n["handle"], int(n["depth"]), dict(n.get("values") or {}), bool(n.get("stored", True)))
            for n in body["nodes"]
        )
        edges = tuple(TraceEdge(e["from"], e["to"], e["type"]) for e in body["edges"])
        return cls(body["handle"], body["direction"], int(body["depth"]), nodes, edges, body["truncated"])

    def node(self, handle: str) -> TraceNode | None:
        """The node of `handle` as the trace names it, if it was reached."""
        return next((n for n in self.nodes if n.handle == handle), None)
