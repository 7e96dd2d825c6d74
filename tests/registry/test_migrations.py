"""The migrations on SQLite and PostgreSQL: a node made before the audit (0003) is upgraded to it, audits its
writes, and the audit can be taken away again (0004 down) and brought back; likewise the sessions the node
keeps (0005) and the sealed secrets of the native protocol (0007)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect, text

from registry import Handle, HandleValue, Naming, Services, Store, init_node
from registry.store.migrate import alembic_config, upgrade
from resolver import Settings
from resolver.local import node_prefix
from resolver.node import NotReady
from tests.conftest import ADMIN_SECRET, NODE_PREFIX, fast_passwords
from tests.support import create_database, drop_database


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/idnode.db"
        return
    name, url = create_database()
    try:
        yield url
    finally:
        drop_database(name)


async def _tables(url: str) -> set[str]:
    store = Store.open(url, pool_size=1)
    try:
        async with store.reader.connect() as conn:
            return set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))
    finally:
        await store.close()


async def _init(url: str) -> None:
    """Set up the node as code of the schema's time did: its secret stored as a hash only (the sealed form
    for the native protocol came with 0007)."""
    store = Store.open(url, pool_size=1)
    passwords = fast_passwords()
    try:
        hashed = passwords.hash(ADMIN_SECRET)
        await init_node(store, NODE_PREFIX, hashed, passwords=passwords, naming=Naming())
    finally:
        await store.close()


async def _write_and_read_audit(url: str) -> list[str]:
    store = Store.open(url, pool_size=1)
    try:
        services = await Services.open(store, passwords=fast_passwords())
        handle = Handle.parse(f"{NODE_PREFIX}/MIGRATED")
        await services.records.put_record(services.node.admin, handle, [HandleValue.text(1, "URL", "u")])
        return [e.target for e in (await services.audit.query()).events]
    finally:
        await store.close()


def test_a_node_made_before_the_audit_is_upgraded_to_it_and_back(empty_database: str) -> None:
    url = empty_database
    upgrade(url, "0003")
    asyncio.run(_init(url))
    assert "audit" not in asyncio.run(_tables(url))

    upgrade(url)
    assert asyncio.run(_write_and_read_audit(url)) == [f"{NODE_PREFIX}/MIGRATED"]

    command.downgrade(alembic_config(url), "0003")
    assert "audit" not in asyncio.run(_tables(url))
    upgrade(url)
    assert "audit" in asyncio.run(_tables(url))


def test_a_node_will_not_start_on_a_schema_its_code_has_outgrown(empty_database: str) -> None:
    upgrade(empty_database, "0003")
    asyncio.run(_init(empty_database))

    with pytest.raises(NotReady, match="run `idnode migrate`"):
        asyncio.run(node_prefix(Settings(database_url=empty_database)))


async def _log_in_and_end(url: str) -> tuple[str | None, str | None]:
    """Who a session authenticated with a secret is, read back by its id; then after it was ended."""
    store = Store.open(url, pool_size=1)
    try:
        services = await Services.open(store, passwords=fast_passwords())
        sessions = services.sessions
        opened = await sessions.with_secret(await sessions.open(), services.node.admin)
        before = (await sessions.read(opened.id)).principal
        await sessions.end(opened)
        after = (await sessions.read(opened.id)).principal
        return str(before) if before else None, str(after) if after else None
    finally:
        await store.close()


def test_a_node_made_before_sessions_were_kept_is_upgraded_to_them_and_back(empty_database: str) -> None:
    url = empty_database
    upgrade(url, "0004")
    asyncio.run(_init(url))
    assert "sessions" not in asyncio.run(_tables(url))

    upgrade(url)
    assert asyncio.run(_log_in_and_end(url)) == (f"300:0.NA/{NODE_PREFIX}", None)

    command.downgrade(alembic_config(url), "0004")
    assert "sessions" not in asyncio.run(_tables(url))
    upgrade(url)
    assert "sessions" in asyncio.run(_tables(url))


async def _plant(url: str, rows: list[tuple[str, str]]) -> None:
    """Rows as the code before 0006 keyed them: (key, name as written)."""
    store = Store.open(url, pool_size=1)
    try:
        async with store.writer.begin() as conn:
            for key, name in rows:
                await conn.execute(
                    text(
                        "INSERT INTO handles (handle, prefix, name, values_json, created_at, updated_at) "
                        "VALUES (:key, :prefix, :name, '[]', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                    ),
                    {"key": key, "prefix": NODE_PREFIX, "name": name},
                )
    finally:
        await store.close()


async def _keys(url: str) -> dict[str, str]:
    store = Store.open(url, pool_size=1)
    try:
        async with store.reader.connect() as conn:
            found = await conn.execute(
                text("SELECT name, handle FROM handles WHERE name LIKE :p"), {"p": "88%/%"}
            )
            return {str(name): str(key) for name, key in found}
    finally:
        await store.close()


def test_handles_are_rekeyed_as_the_parser_now_reads_them(empty_database: str) -> None:
    url = empty_database
    upgrade(url, "0005")
    asyncio.run(_init(url))
    decomposed = f"{NODE_PREFIX}/CAFE\u0301"  # E + combining acute: NFC composes it
    asyncio.run(
        _plant(
            url,
            [
                (f"{NODE_PREFIX}/ＦＷ-1", f"{NODE_PREFIX}/ＦＷ-1"),  # full width: folds to FW-1
                (decomposed, decomposed),
                (f"{NODE_PREFIX}/TAKEN", f"{NODE_PREFIX}/TAKEN"),
                (f"{NODE_PREFIX}/ＴＡＫＥＮ", f"{NODE_PREFIX}/ＴＡＫＥＮ"),  # would collide: left as it is
                (f"{NODE_PREFIX}/BAD\u200b", f"{NODE_PREFIX}/BAD\u200b"),  # now refused: left as it is
            ],
        )
    )

    upgrade(url)

    keys = asyncio.run(_keys(url))
    assert keys[f"{NODE_PREFIX}/ＦＷ-1"] == f"{NODE_PREFIX}/FW-1"
    assert keys[decomposed] == f"{NODE_PREFIX}/CAF\u00c9"
    assert keys[f"{NODE_PREFIX}/ＴＡＫＥＮ"] == f"{NODE_PREFIX}/ＴＡＫＥＮ"
    assert keys[f"{NODE_PREFIX}/BAD\u200b"] == f"{NODE_PREFIX}/BAD\u200b"


async def _native_before_and_after_reset(url: str) -> tuple[bytes | None, bool, bytes | None]:
    """The node administrator's native secret as stored before 0007, whether Basic takes the secret still,
    and the native secret once the secret is set again."""
    store = Store.open(url, pool_size=1)
    try:
        services = await Services.open(store, passwords=fast_passwords())
        admin = services.node.admin
        before = await services.accounts.native_secret(admin)
        basic = await services.accounts.authenticate(str(admin), ADMIN_SECRET) == admin
        await services.records.put_values(admin, admin.handle, [HandleValue.text(300, "HS_SECKEY", "fresh")])
        return before, basic, await services.accounts.native_secret(admin)
    finally:
        await store.close()


def test_a_secret_stored_before_sealed_secrets_has_no_native_form_until_it_is_set_again(
    empty_database: str,
) -> None:
    url = empty_database
    upgrade(url, "0006")
    asyncio.run(_init(url))
    assert "native_secrets" not in asyncio.run(_tables(url))

    upgrade(url)
    assert asyncio.run(_native_before_and_after_reset(url)) == (None, True, b"fresh")

    command.downgrade(alembic_config(url), "0006")
    assert "native_secrets" not in asyncio.run(_tables(url))
    upgrade(url)
    assert "native_secrets" in asyncio.run(_tables(url))
