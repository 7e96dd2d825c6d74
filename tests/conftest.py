"""Shared fixtures: the registry's services on SQLite and on a real PostgreSQL, with a node and two
enterprises."""

from __future__ import annotations

import asyncio
import functools
import shutil
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from hypothesis import settings
from sqlalchemy import text

from registry import EnterpriseInput, Naming, Passwords, Principal, Services, Store, init_node
from registry.signing import KeyPair
from registry.store.migrate import upgrade
from tests import setups
from tests.support import create_database, drop_database

settings.register_profile("idnode", deadline=None, max_examples=200)
settings.load_profile("idnode")

NODE_PREFIX = "88.999"
ACME = "88.999.1"  # the reserved test prefix: a commercial-vehicle parts supplier
OTHER = "88.999.2"  # another enterprise, which must never write under ACME
ADMIN_SECRET, ACME_SECRET, OTHER_SECRET = "node-admin-secret", "acme-secret", "other-secret"
# Every table the migrations create but Alembic's own (0003 added a column, `handles.name`, not a table).
TABLES = (
    "node, enterprises, prefixes, handles, journal, templates, users, audit, sessions, report_outbox,"
    " reports, resolution_counts, resolution_sources, resolution_seconds, registration_counts"
)


@functools.cache
def node_key() -> KeyPair:
    """One RSA signing key for the nodes the tests set up in process (making one takes some 60 ms)."""
    return KeyPair.generate()


def fast_passwords() -> Passwords:
    """Argon2 with tiny costs: the tests exercise the logic, not the hash's strength."""
    return Passwords(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture(scope="session", autouse=True)
def node_setups() -> Iterator[None]:
    """The node set-ups end-to-end tests copy (tests/setups.py), dropped when the run ends."""
    yield
    setups.drop_sources()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A throw-away PostgreSQL database for this test run, migrated to the newest schema."""
    name, url = create_database()
    try:
        upgrade(url)
        yield url
    finally:
        drop_database(name)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An empty database of each kind for one module's nodes (end-to-end tests)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('sqlite')}/idnode.db"
        return
    name, url = create_database()
    try:
        yield url
    finally:
        drop_database(name)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "idnode.db"
    upgrade(f"sqlite:///{path}")
    return path


async def _truncate(url: str) -> None:
    store = Store.open(url, pool_size=1)
    try:
        async with store.writer.begin() as conn:
            await conn.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))
    finally:
        await store.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """An empty, migrated database of each kind, private to the test."""
    if request.param == "sqlite":
        path = tmp_path / "idnode.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("pg_url")
    asyncio.run(_truncate(url))
    return url


@asynccontextmanager
async def node_services(url: str, naming: Naming | None = None) -> AsyncIterator[Services]:
    """Node 88.999 (with `naming`, by default ASCII case ignored) and enterprises 88.999.1 and 88.999.2 on
    the database at `url`, and the services of that node."""
    store = Store.open(url, pool_size=2)
    passwords = fast_passwords()
    try:
        await init_node(
            store,
            NODE_PREFIX,
            ADMIN_SECRET,
            passwords=passwords,
            naming=naming or Naming(),
            signing_key=node_key(),
        )
        services = await Services.open(store, passwords=passwords)
        admin = services.node.admin
        acme = EnterpriseInput("Acme Parts", "91420700MA4K8XQ3T3")
        other = EnterpriseInput("Other Steel", "91420300MA49K2Q7NE")
        await services.enterprises.add(admin, acme, prefix=ACME, secret=ACME_SECRET)
        await services.enterprises.add(admin, other, prefix=OTHER, secret=OTHER_SECRET)
        yield services
    finally:
        await store.close()


@pytest.fixture
async def services(database_url: str) -> AsyncIterator[Services]:
    """Node 88.999 with enterprises 88.999.1 and 88.999.2."""
    async with node_services(database_url) as services:
        yield services


@pytest.fixture
def acme() -> Principal:
    return Principal.parse(f"300:0.NA/{ACME}")


@pytest.fixture
def other() -> Principal:
    return Principal.parse(f"300:0.NA/{OTHER}")


@pytest.fixture
def node_admin() -> Principal:
    return Principal.parse(f"300:0.NA/{NODE_PREFIX}")
