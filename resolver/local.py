"""The node opened in process by its operator's commands (`idnode init`, `migrate`, `enterprise`, `template`
on the node's own database): setting it up, migrating it, and administering it without a running server.

Administration goes through the same operations as the administration API, with the node administrator's
rights (whoever holds the database holds the node); its writes reach running nodes' caches as theirs do.
"""

from __future__ import annotations

import getpass
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from registry import (
    Audit,
    Naming,
    NodeSetup,
    Passwords,
    RegistryError,
    Services,
    Store,
    init_node,
    new_secret,
    read_node,
)
from registry.audit import OK, source
from registry.hierarchy import Parent, set_place
from registry.keys import NodeKeys
from registry.signing import public_key_from_file
from registry.store.migrate import upgrade

from .frontends import reports as received
from .frontends.admin import operations as ops
from .node import NotReady, open_writer
from .reporting.reporter import flush
from .settings import Settings, SettingsError

# What the operator's commands may fail with, to be shown as one line rather than a traceback.
FAILURES: tuple[type[Exception], ...] = (
    RegistryError,
    SettingsError,
    NotReady,
    SQLAlchemyError,
    OSError,
    ValueError,
)

Json = dict[str, Any]

__all__ = ["FAILURES", "Operator", "Parent", "initialise", "migrate", "new_secret", "node_prefix", "operate"]


def migrate(settings: Settings) -> None:
    """Create the database's schema, or bring it up to date (safe to repeat)."""
    upgrade(settings.database_url)


async def initialise(
    settings: Settings,
    node_prefix: str,
    admin_secret: str,
    *,
    role: str | None = None,
    parent: Parent | None = None,
) -> NodeSetup:
    """Migrate the database and set the node up once: its prefix, its case rule (`IDNODE_CASE_SENSITIVE`),
    its administrator and its role; and set its parent (again, if it had one)."""
    store = Store.open(settings.database_url, pool_size=1)
    try:
        naming = Naming(case_sensitive=settings.case_sensitive)
        setup = await init_node(
            store, node_prefix, admin_secret, passwords=Passwords(), naming=naming,
            signing_alg=settings.signing_alg, credential_key=settings.credential_key,
        )  # fmt: skip
        if setup.created:
            source.set(local_source())
            audit = Audit(store, await read_node(store))
            await audit.record("node.init", outcome=OK, actor=str(setup.admin), target=setup.node_prefix)
        keys = NodeKeys(store, credential_key=settings.credential_key)
        await set_place(store, keys, role=role, parent=parent)
        return setup
    finally:
        await store.close()


async def node_prefix(settings: Settings) -> str:
    """The node's prefix, once its database is known to be ready to serve (else `NotReady`)."""
    async with open_writer(settings) as node:
        return node.services.node.prefix


class Operator:
    """The node administrator's operations on the node's own database, answered as the API answers them."""

    def __init__(self, services: Services, parent: Parent | None = None) -> None:
        self._services = services
        self._admin = services.node.admin
        self._parent = parent  # a secondary node's, for its reports

    async def create_enterprise(self, body: Json) -> Json:
        return await ops.create_enterprise(self._services, self._admin, body)

    async def allocate_prefix(self, owner: str, body: Json) -> Json:
        return await ops.allocate_prefix(self._services, self._admin, owner, body)

    async def enterprises(self) -> list[Json]:
        found: list[Json] = (await ops.list_enterprises(self._services))["enterprises"]
        return found

    async def enterprise(self, prefix: str) -> Json:
        return await ops.show_enterprise(self._services, prefix)

    async def disable(self, prefix: str) -> Json:
        return await ops.set_enterprise_status(self._services, self._admin, prefix, enabled=False)

    async def add_key(self, prefix: str, body: Json) -> Json:
        return await ops.add_key(self._services, self._admin, prefix, body)

    async def create_user(self, prefix: str, body: Json) -> Json:
        return await ops.create_user(self._services, self._admin, prefix, body)

    async def load_template(self, body: Json) -> Json:
        return await ops.load_template(self._services, self._admin, body)

    async def templates(self, prefix: str, version: str | None = None) -> list[Json]:
        return await ops.templates(self._services, prefix, version)

    async def add_child_node(self, body: Json) -> Json:
        return await ops.add_child_node(self._services, self._admin, body)

    async def child_nodes(self) -> list[Json]:
        found: list[Json] = (await ops.list_child_nodes(self._services))["nodes"]
        return found

    async def disable_child_node(self, prefix: str) -> Json:
        return await ops.disable_child_node(self._services, self._admin, prefix)

    async def prefixes(self) -> list[str]:
        return await self._services.reads.prefixes()

    async def signing_keys(self) -> list[Json]:
        """The node's published signing keys, the active one last."""
        ring = await self._services.signing.ring()
        keys = [] if ring is None else list(ring.keys)
        return [
            {
                "kid": k.kid,
                "alg": k.public.alg,
                "index": k.index,
                "active": k.retired is None,
                "until": k.until,
            }
            for k in keys
        ]

    async def rotate_key(self, alg: str, grace: int) -> Json:
        """A new signing key of `alg`; the old one stays published for `grace` seconds."""
        old, new = await self._services.signing.rotate(alg, grace=grace)
        return {"retired": old.kid, "active": new.kid, "alg": new.public.alg, "index": new.index}

    async def certify_key(self, prefix: str, key_file: bytes, index: int) -> Json:
        """An HS_CERT in 0.NA/PREFIX vouching for the enterprise's signing key (a JWK or an RSA PEM file)."""
        public = public_key_from_file(key_file)
        cert = await self._services.signing.certify(prefix, public, index=index)
        return {"prefix": prefix, "subject": f"{index}:0.NA/{prefix}", "kid": public.kid, "index": cert.index}

    async def audit(self, filters: Mapping[str, str | None]) -> Json:
        return await ops.audit(self._services, None, filters)

    async def reports(self, *, node: str | None, kind: str | None, after: str | None = None) -> Json:
        """A page of the reports a top-level node received, as GET /api/admin/reports answers it."""
        received.top_level_only(self._services)
        return await received.page(self._services, node=node, kind=kind, after=after, limit=None)

    async def flush_reports(self) -> Json:
        """A secondary node's reports due now, queued and sent to its parent (`reporting.reporter.flush`)."""
        done = await flush(self._services, self._parent)
        return {
            "queued": done.queued,
            "sent": done.sent,
            "remaining": done.remaining,
            "failure": done.failure,
        }


def local_source() -> str:
    """Where the operator's commands come from, for the audit: this machine, and who ran them."""
    try:
        return f"local:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name in the environment nor the password database
        return "local"


@asynccontextmanager
async def operate(settings: Settings) -> AsyncIterator[Operator]:
    """The operator's access to the node whose database `settings` names."""
    source.set(local_source())
    async with open_writer(settings) as node:
        yield Operator(node.services, node.parent)
