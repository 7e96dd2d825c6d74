"""A benchmark node's database: migrated, node 88.999 and the enterprise 88.999.1 that registers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from importlib import resources

from registry import (
    EnterpriseInput,
    HandleValue,
    Principal,
    RecordInput,
    Registry,
    Store,
    add_enterprise,
    init_node,
    node_admin,
    register_many,
)
from registry.store.migrate import upgrade
from registry.template_ops import add_template
from registry.templates import parse_template

from .data import Record

PREFIX = "88.999.1"
SECRET = "bench-secret"
BATCH = 1_000  # records a registration call when seeding


def migrate(url: str) -> None:
    upgrade(url)


@asynccontextmanager
async def bench_registry(url: str) -> AsyncIterator[tuple[Registry, Principal]]:
    """The registry on `url` with the node and its enterprise set up, and that enterprise's administrator."""
    store = Store.open(url)
    try:
        registry = Registry(store)
        await init_node(registry, "88.999", "bench-admin")
        await add_enterprise(
            registry, EnterpriseInput("Bench Parts", "91420700MA4K8XQ3T3"), prefix=PREFIX, secret=SECRET
        )
        yield registry, Principal.parse(f"300:0.NA/{PREFIX}")
    finally:
        await store.close()


def as_input(record: Record) -> RecordInput:
    handle, fields = record
    return RecordInput(handle, [HandleValue.text(index, kind, text) for index, kind, text in fields])


async def load_steel_coil(registry: Registry) -> None:
    """The shipped steel-coil template (version 1.0) for the bench enterprise: what `coil()` records match."""
    body = json.loads(resources.files("registry.template_data").joinpath("steel-coil.json").read_text())
    await add_template(registry, await node_admin(registry), parse_template(body | {"prefix": PREFIX}))


async def register_records(
    registry: Registry, principal: Principal, records: Iterable[Record], batch: int = BATCH
) -> list[str]:
    """Register `records` `batch` at a time, as seeding does (no template); their handles."""
    handles: list[str] = []
    pending: list[RecordInput] = []
    for record in records:
        pending.append(as_input(record))
        handles.append(record[0])
        if len(pending) == batch:
            await register_many(registry, principal, pending)
            pending = []
    if pending:
        await register_many(registry, principal, pending)
    return handles
