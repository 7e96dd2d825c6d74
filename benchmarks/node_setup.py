"""A benchmark node's database: migrated, node 88.999 and the enterprise 88.999.1 that registers (for
resolve_remote, another node and its enterprise)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from importlib import resources

from registry import (
    EnterpriseInput,
    HandleValue,
    Naming,
    Passwords,
    Principal,
    RecordInput,
    Services,
    Store,
    init_node,
    parse_template,
    register_many,
)
from registry.store.migrate import upgrade

from .data import Record

PREFIX = "88.999.1"
SECRET = "bench-secret"
NODE_PREFIX, ADMIN_SECRET = "88.999", "bench-admin"
BATCH = 1_000  # records a registration call when seeding


def migrate(url: str) -> None:
    upgrade(url)


@asynccontextmanager
async def bench_services(url: str, prefix: str = PREFIX) -> AsyncIterator[tuple[Services, Principal]]:
    """The services of the node on `url`, once the node (with the default case rule) and its enterprise
    `prefix` are set up, and that enterprise's administrator. The node's prefix is the one `prefix` derives
    from (`NODE_PREFIX` for `PREFIX`); a database `idnode init` set up for that node is used as it is."""
    store = Store.open(url)
    try:
        passwords = Passwords()
        await init_node(store, prefix.rpartition(".")[0], ADMIN_SECRET, passwords=passwords, naming=Naming())
        services = await Services.open(store, passwords=passwords)
        details = EnterpriseInput("Bench Parts", "91420700MA4K8XQ3T3")
        await services.enterprises.add(services.node.admin, details, prefix=prefix, secret=SECRET)
        yield services, Principal.parse(f"300:0.NA/{prefix}")
    finally:
        await store.close()


def as_input(record: Record) -> RecordInput:
    handle, fields = record
    return RecordInput(handle, [HandleValue.text(index, kind, text) for index, kind, text in fields])


async def load_steel_coil(services: Services) -> None:
    """The shipped steel-coil template (version 1.0) for the bench enterprise: what `coil()` records match."""
    body = json.loads(resources.files("registry.template_data").joinpath("steel-coil.json").read_text())
    await services.templates.add(services.node.admin, parse_template(body | {"prefix": PREFIX}))


async def register_records(
    services: Services, principal: Principal, records: Iterable[Record], batch: int = BATCH
) -> list[str]:
    """Register `records` `batch` at a time, as seeding does (no template); their handles."""
    handles: list[str] = []
    pending: list[RecordInput] = []
    for record in records:
        pending.append(as_input(record))
        handles.append(record[0])
        if len(pending) == batch:
            await register_many(services.records, principal, pending)
            pending = []
    if pending:
        await register_many(services.records, principal, pending)
    return handles
