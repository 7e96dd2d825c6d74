"""A benchmark node's database: migrated, node 88.999 and the enterprise 88.999.1 that registers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from registry import (
    EnterpriseInput,
    HandleValue,
    Principal,
    RecordInput,
    Registry,
    Store,
    add_enterprise,
    init_node,
)
from registry.store.migrate import upgrade

from .data import Record

PREFIX = "88.999.1"
SECRET = "bench-secret"


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
