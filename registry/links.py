"""Typed links between identifiers: what a link value is, and keeping the `links` table in step with records.

A **link** is a value of a record (its *source*) whose type names a relation and whose data is the handle of
its *target*, as text (`string` format):

- `madeFrom` — the source is made from the target (a coil from a slab, a slab from a heat);
- `installedIn` — the source is installed in the target (a part in an assembly, an assembly in a vehicle);
- `shippedIn` — the source is shipped in the target (a part in a shipment);
- `LINK.<relation>` — the SDK's spelling (`sdk.Client.link`, at indexes 500–999): `LINK.madeFrom` is
  `madeFrom`, and any other relation (`LINK.partOf`) is a link too.

A link may sit at any index (the SDK's system range, or a template's item at 2000 and above). Relation names
are matched as written (`madefrom` is not a link).

Every link has an **origin** and a **product**, the ends as material flows: `madeFrom` points from the product
to its origin (the slab is the origin of the coil made from it); every other relation points from the origin
into its product (a part goes into the vehicle it is installed in, the shipment it is shipped in, the
assembly it is part of). A trace walks toward origins (`up`) or products (`down`) whichever way a link was
declared.

On every write that changes a record's links they are checked, in the write's transaction:

- the data is a handle (`InvalidValue` otherwise), not the source itself;
- a target under the node's prefix must exist here (`InvalidValue`: "… does not exist"); a target whose
  prefix is not homed here (another node's, or on a top-level node one of its secondary nodes') is accepted
  unchecked: the hierarchy's remote check comes later;
- no cycle: the new links must not make a record its own origin (one recursive query over the table; on
  PostgreSQL, transactions adding links take turns from there to their commit, so that two cannot each add
  one half of a cycle).

A write that leaves a record's links as they were does not check them again, nor touch their rows. A target
deleted later leaves the links to it in place (they are values of other records): a trace shows it as a
handle without values.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from .errors import InvalidHandle, InvalidValue, RegistryError
from .handle import Handle, is_under
from .naming import Naming
from .store import link_rows
from .store.link_rows import LinkRow
from .values import HandleValue, StringData

MADE_FROM, INSTALLED_IN, SHIPPED_IN = "madeFrom", "installedIn", "shippedIn"
RELATIONS = (MADE_FROM, INSTALLED_IN, SHIPPED_IN)
LINK_PREFIX = "LINK."
# Relations whose target is the source's origin (the source was made of it); every other relation points
# from an origin into its product.
TOWARD_ORIGIN = frozenset({MADE_FROM})

# A record's link values, (index, type, data) in index order: what its link rows are made of.
LinkValues = tuple[tuple[int, str, str], ...]
# (record key, its handle, its values as now stored, its link values before this write)
LinkChange = tuple[str, Handle, Sequence[HandleValue], LinkValues]


def relation_of(type_: str) -> str | None:
    """The relation a value's type names (`LINK.madeFrom` → `madeFrom`), or None when it is no link."""
    if type_.startswith(LINK_PREFIX):
        return type_[len(LINK_PREFIX) :] or None
    return type_ if type_ in RELATIONS else None


def normalise_relation(text: str) -> str:
    """A relation as a trace filter names it: `madeFrom` or `LINK.madeFrom` (one no link has matches none)."""
    return text.removeprefix(LINK_PREFIX)


def holds_links(values: Iterable[HandleValue]) -> bool:
    """Whether any of `values` is a link: asked of every record a batch writes, so the test is inline."""
    return any(v.type in RELATIONS or v.type.startswith(LINK_PREFIX) for v in values)


def link_values(values: Iterable[HandleValue]) -> LinkValues:
    """The link values among `values`, to tell whether a write changes a record's links."""
    return tuple(
        sorted(
            (v.index, v.type, v.data.value if isinstance(v.data, StringData) else f"<{v.data.format}>")
            for v in values
            if relation_of(v.type) is not None
        )
    )


def targets_of(values: Iterable[HandleValue], naming: Naming) -> set[str]:
    """The keys of the handles the link values among `values` name (those that name none left out)."""
    found = set()
    for value in values:
        if relation_of(value.type) is not None and isinstance(value.data, StringData):
            try:
                found.add(naming.key(Handle.parse(value.data.value)))
            except InvalidHandle:
                continue
    return found


@dataclass(frozen=True, slots=True)
class Ends:
    origin: str
    product: str


def ends(relation: str, source: str, target: str) -> Ends:
    """Which end of a link is the origin and which the product."""
    if relation in TOWARD_ORIGIN:
        return Ends(target, source)
    return Ends(source, target)


def links_of(handle: Handle, key: str, values: Iterable[HandleValue], naming: Naming) -> list[LinkRow]:
    """The rows of the links among `values` of the record `handle` (key `key`); `InvalidValue` when one's data
    is not a handle, or names the record itself."""
    rows = []
    for value in values:
        relation = relation_of(value.type)
        if relation is None:
            continue
        where = f"the {value.type} value at index {value.index}"
        if not isinstance(value.data, StringData):
            raise InvalidValue(f"{where} must hold the target handle as a string", handle=str(handle))
        try:
            target = Handle.parse(value.data.value)
        except InvalidHandle as exc:
            message = f"{where} must hold a target handle: {exc.message}"
            raise InvalidValue(message, handle=str(handle)) from None
        target_key = naming.key(target)
        if target_key == key:
            raise InvalidValue(f"{where} links {handle} to itself (a cycle)", handle=str(handle))
        at = ends(relation, key, target_key)
        rows.append(
            LinkRow(key, value.index, relation, target_key, str(target), handle.prefix, at.origin, at.product)
        )
    return rows


@dataclass(frozen=True, slots=True)
class _Planned:
    handle: Handle
    rows: list[LinkRow]


async def keep_linked(
    conn: AsyncConnection, naming: Naming, home: str, changes: Iterable[LinkChange]
) -> dict[str, RegistryError]:
    """Make the link rows of each written record whose links changed those of its values as now stored,
    checking its links (their targets here exist; no cycle): the records refused, by key, with why. Rows are
    written before the checks, so a caller given refusals must roll back (a single write: the transaction; a
    batch: its savepoint, and write the rest again). `home` is the node's prefix: targets under it are
    checked."""
    refused: dict[str, RegistryError] = {}
    planned: dict[str, _Planned] = {}
    rewritten: list[str] = []
    for key, handle, values, before in changes:
        if link_values(values) == before:
            continue  # links as they were, checked when they were written: a target gone since is no matter
        if before:
            rewritten.append(key)
        try:
            rows = links_of(handle, key, values, naming)
        except InvalidValue as exc:
            refused[key] = exc
            continue
        if rows:
            planned[key] = _Planned(handle, rows)
    await link_rows.drop(conn, rewritten)
    if not planned:
        return refused
    away = await link_rows.delegated(conn)
    local = {row.target for p in planned.values() for row in p.rows if _homed(row.target_name, home, away)}
    found = await link_rows.existing(conn, sorted(local))
    for key, plan in list(planned.items()):
        missing = next((r for r in plan.rows if r.target in local and r.target not in found), None)
        if missing is not None:
            refused[key] = InvalidValue(
                f"the {missing.relation} link at index {missing.idx} names {missing.target_name}, which "
                "does not exist",
                handle=str(plan.handle),
            )
            del planned[key]
    if planned:
        await link_rows.serialise(conn)
    await link_rows.add(conn, [row for plan in planned.values() for row in plan.rows])
    for key, idx in await link_rows.cycles(conn, list(planned)):
        if key in refused:
            continue
        plan = planned[key]
        row = next(r for r in plan.rows if r.idx == idx)
        refused[key] = InvalidValue(
            f"the {row.relation} link at index {idx} to {row.target_name} would make a cycle: "
            f"{plan.handle} would be among its own origins",
            handle=str(plan.handle),
        )
    return refused


def _homed(name: str, home: str, away: Sequence[str]) -> bool:
    """Whether the records of handle `name` live here: under the node's prefix, and not under a prefix it
    allocated to a secondary node (a top-level node's children)."""
    prefix = Handle.parse(name).governing_prefix
    return is_under(prefix, home) and not any(is_under(prefix, child) for child in away)


async def keep_linked_or_raise(conn: AsyncConnection, naming: Naming, home: str, change: LinkChange) -> None:
    """`keep_linked` for one record, raising why it is refused (the write's transaction rolls back)."""
    refused = await keep_linked(conn, naming, home, [change])
    if refused:
        raise next(iter(refused.values()))


def backfill_rows(stored: Iterable[Any], *, case_sensitive: bool) -> list[dict[str, Any]]:
    """The link rows of records stored before there were links (rows of handle, prefix, values_json), for
    the migration; values that are not good links are skipped."""
    naming = Naming(case_sensitive)
    rows: list[dict[str, Any]] = []
    for key, prefix, values_json in stored:
        for value in orjson.loads(values_json):
            relation = relation_of(str(value.get("type", "")))
            data = value.get("data")
            text = data.get("value") if isinstance(data, dict) else None
            if relation is None or not isinstance(text, str):
                continue
            try:
                target = Handle.parse(text)
            except InvalidHandle:
                continue
            target_key = naming.key(target)
            if target_key == key:
                continue
            at = ends(relation, key, target_key)
            index = int(value["index"])
            row = LinkRow(key, index, relation, target_key, str(target), prefix, at.origin, at.product)
            rows.append(row.params())
    return rows
