"""The secrets of HS_SECKEY values kept sealed for the native protocol's challenge–response
(`registry.native_secrets`, `Accounts.native_secret`), on SQLite and PostgreSQL: sealed on every write path,
never in a record's values, opened only with the credential key they were sealed with, and gone with their
value or their record."""

from __future__ import annotations

import os
from typing import Any

import pytest
from sqlalchemy import select

from registry import (
    AuthenticationFailed,
    Handle,
    HandleValue,
    Principal,
    Services,
    delete_many,
    register_many,
    update_many,
)
from registry.accounts import DISABLED
from registry.enterprises import ACTIVE
from registry.native_secrets import open_secret
from registry.store import records
from registry.store.schema import audit, journal, native_secrets, node
from registry.store.secret_rows import SecretRow
from tests.conftest import ACME, ACME_SECRET, ADMIN_SECRET, OTHER, OTHER_SECRET

ACME_ADMIN = Principal.parse(f"300:0.NA/{ACME}")
PLC = Handle.parse(f"{ACME}/PLC-0001")  # a line controller that authenticates with a key of its own
PLC_KEY = Principal(PLC, 300)


def seckey(secret: str, index: int = 300) -> HandleValue:
    return HandleValue.text(index, "HS_SECKEY", secret)


def plc_values(secret: str = "plc-secret") -> list[HandleValue]:
    return [HandleValue.text(1, "URL", "https://mes.example.com/plc/1"), seckey(secret)]


async def sealed_rows(services: Services) -> dict[tuple[str, int], tuple[str, str]]:
    """Every row of native_secrets: (record key, index) → (hash, sealed secret)."""
    async with services.store.reader.connect() as conn:
        rows = await conn.execute(select(native_secrets))
        return {(row.handle, row.idx): (row.hash, row.sealed) for row in rows}


async def stored(services: Services, handle: Handle) -> str:
    async with services.store.reader.connect() as conn:
        found = await records.read(conn, services.node.naming.key(handle))
    assert found is not None
    return found


async def table_text(services: Services, table: Any) -> str:
    async with services.store.reader.connect() as conn:
        return repr([tuple(row) for row in await conn.execute(select(table))])


def key_of(services: Services, handle: Handle) -> str:
    return services.node.naming.key(handle)


# -- sealed on every write path --------------------------------------------------------------------------


async def test_the_node_and_enterprise_secrets_are_sealed_for_the_native_protocol(
    services: Services, node_admin: Principal, other: Principal
) -> None:
    native = services.accounts.native_secret

    assert await native(node_admin) == ADMIN_SECRET.encode()  # init_node
    assert await native(ACME_ADMIN) == ACME_SECRET.encode()  # enterprise creation
    assert await native(other) == OTHER_SECRET.encode()

    await services.accounts.set_admin_secret(node_admin, ACME, "密钥-2026")  # a reset

    assert await native(ACME_ADMIN) == "密钥-2026".encode()
    assert await native(other) == OTHER_SECRET.encode()


async def test_a_secret_written_to_any_record_is_sealed_on_every_write_path(
    services: Services, acme: Principal
) -> None:
    native = services.accounts.native_secret

    await services.records.put_record(acme, PLC, plc_values())
    assert await native(PLC_KEY) == b"plc-secret"

    await services.records.put_values(acme, PLC, [seckey("second", 301)])
    assert await native(Principal(PLC, 301)) == b"second"

    await services.records.replace_business_values(acme, PLC, [seckey("business", 2100)])
    assert await native(Principal(PLC, 2100)) == b"business"

    batch = Handle.parse(f"{ACME}/PLC-0002")
    results = await register_many(services.records, acme, [(str(batch), [seckey("batched")])])
    assert results[0].ok
    assert await native(Principal(batch, 300)) == b"batched"

    results = await register_many(services.records, acme, [(str(batch), [seckey("over")])], overwrite=True)
    assert results[0].ok
    assert await native(Principal(batch, 300)) == b"over"

    results = await update_many(services.records, acme, [(str(batch), [seckey("updated", 2000)])])
    assert results[0].ok
    assert await native(Principal(batch, 2000)) == b"updated"
    assert await native(Principal(batch, 300)) == b"over"  # a system value the update keeps

    assert await native(PLC_KEY) == b"plc-secret"  # every write above kept the other keys
    assert await native(Principal(PLC, 301)) == b"second"


async def test_a_batch_item_that_fails_leaves_no_sealed_secret(services: Services, acme: Principal) -> None:
    taken = Handle.parse(f"{ACME}/PLC-0003")
    await services.records.put_record(acme, taken, [HandleValue.text(1, "URL", "https://x")])
    before = await sealed_rows(services)

    results = await register_many(services.records, acme, [(str(taken), [seckey("never")])])

    assert not results[0].ok
    assert await sealed_rows(services) == before
    assert await services.accounts.native_secret(Principal(taken, 300)) is None


# -- never in the clear, never outside the store ---------------------------------------------------------


async def test_the_record_holds_the_hash_and_neither_the_secret_nor_its_sealed_form(
    services: Services, acme: Principal
) -> None:
    await services.records.put_record(acme, PLC, plc_values("plc-secret-in-clear"))

    values_json = await stored(services, PLC)
    hashed, sealed = (await sealed_rows(services))[(key_of(services, PLC), 300)]

    assert "plc-secret-in-clear" not in values_json
    assert hashed in values_json
    assert hashed.startswith("$argon2id$")
    assert sealed not in values_json
    assert "plc-secret-in-clear" not in sealed
    for table in (journal, audit):  # nor in the journal or the audit
        text = await table_text(services, table)
        assert "plc-secret-in-clear" not in text
        assert sealed not in text
        assert hashed not in text


async def test_the_enterprise_secret_is_in_the_clear_nowhere_in_the_database(services: Services) -> None:
    everything = "".join(
        [await table_text(services, table) for table in (node, journal, audit, native_secrets)]
        + [await stored(services, ACME_ADMIN.handle)]
    )

    assert ACME_SECRET not in everything


# -- the credential key ----------------------------------------------------------------------------------


async def test_a_sealed_secret_cannot_be_opened_with_another_credential_key(services: Services) -> None:
    elsewhere = await Services.open(
        services.store, passwords=services.accounts.passwords, credential_key=os.urandom(32)
    )

    with pytest.raises(AuthenticationFailed, match="credential key"):
        await elsewhere.accounts.native_secret(ACME_ADMIN)
    # Basic authentication does not need the key: it goes on.
    assert await elsewhere.accounts.authenticate(str(ACME_ADMIN), ACME_SECRET) == ACME_ADMIN
    assert await services.accounts.native_secret(ACME_ADMIN) == ACME_SECRET.encode()


async def test_a_stolen_database_alone_opens_no_secret_of_a_node_with_its_own_credential_key(
    services: Services, node_admin: Principal
) -> None:
    credential_key = os.urandom(32)  # IDNODE_CREDENTIAL_KEY: never in the database
    keyed = await Services.open(
        services.store, passwords=services.accounts.passwords, credential_key=credential_key
    )
    await keyed.accounts.set_admin_secret(node_admin, ACME, "sealed-with-the-setting")
    assert await keyed.accounts.native_secret(ACME_ADMIN) == b"sealed-with-the-setting"

    thief = await Services.open(services.store, passwords=services.accounts.passwords)  # the database's key

    assert credential_key.hex() not in await table_text(services, node)
    with pytest.raises(AuthenticationFailed, match="credential key"):
        await thief.accounts.native_secret(ACME_ADMIN)


# -- replaced, removed, deleted --------------------------------------------------------------------------


async def test_replacing_the_secret_replaces_its_sealed_form(services: Services, acme: Principal) -> None:
    await services.records.put_record(acme, PLC, plc_values("first"))
    first = (await sealed_rows(services))[(key_of(services, PLC), 300)]

    await services.records.put_values(acme, PLC, [seckey("second")])

    rows = {k: v for k, v in (await sealed_rows(services)).items() if k[0] == key_of(services, PLC)}
    assert list(rows) == [(key_of(services, PLC), 300)]
    assert rows[(key_of(services, PLC), 300)] != first
    assert await services.accounts.native_secret(PLC_KEY) == b"second"

    await services.records.put_record(acme, PLC, plc_values("third"))  # a whole-record replace

    assert await services.accounts.native_secret(PLC_KEY) == b"third"


async def test_a_secret_replaced_by_a_hash_has_no_native_form_and_still_serves_basic(
    services: Services, acme: Principal
) -> None:
    await services.records.put_record(acme, PLC, plc_values("first"))
    hashed = services.accounts.passwords.hash("hashed-elsewhere")

    await services.records.put_values(acme, PLC, [seckey(hashed)])

    assert (key_of(services, PLC), 300) not in await sealed_rows(services)
    assert await services.accounts.native_secret(PLC_KEY) is None
    assert await services.accounts.authenticate(str(PLC_KEY), "hashed-elsewhere") == PLC_KEY
    with pytest.raises(AuthenticationFailed):
        await services.accounts.authenticate(str(PLC_KEY), "first")


async def test_a_removed_secret_takes_its_sealed_form_with_it(
    services: Services, acme: Principal, node_admin: Principal
) -> None:
    await services.records.put_record(acme, PLC, [*plc_values(), seckey("kept", 301)])

    await services.records.delete_values(acme, PLC, [300])

    assert await services.accounts.native_secret(PLC_KEY) is None
    assert set(await sealed_rows(services)) >= {(key_of(services, PLC), 301)}
    assert (key_of(services, PLC), 300) not in await sealed_rows(services)

    await services.records.put_record(acme, PLC, [HandleValue.text(1, "URL", "https://x")])  # none left

    assert not [k for k in await sealed_rows(services) if k[0] == key_of(services, PLC)]

    await services.accounts.revoke_admin_secret(node_admin, ACME)

    assert await services.accounts.native_secret(ACME_ADMIN) is None
    assert (key_of(services, ACME_ADMIN.handle), 300) not in await sealed_rows(services)


async def test_a_deleted_record_takes_its_sealed_secrets_with_it(services: Services, acme: Principal) -> None:
    batched = Handle.parse(f"{ACME}/PLC-0002")
    await services.records.put_record(acme, PLC, plc_values())
    await services.records.put_record(acme, batched, plc_values())

    await services.records.delete(acme, PLC)
    await delete_many(services.records, acme, [str(batched)])

    keys = {key for key, _ in await sealed_rows(services)}
    assert key_of(services, PLC) not in keys
    assert key_of(services, batched) not in keys

    await services.records.put_record(acme, PLC, [HandleValue.text(1, "URL", "https://x")])  # made again

    assert await services.accounts.native_secret(PLC_KEY) is None


async def test_a_sealed_secret_serves_only_beside_the_hash_it_was_sealed_with(
    services: Services, acme: Principal
) -> None:
    await services.records.put_record(acme, PLC, plc_values())
    other_hash = services.accounts.passwords.hash("restored-from-a-backup")
    changed = (await stored(services, PLC)).replace(
        (await sealed_rows(services))[(key_of(services, PLC), 300)][0], other_hash
    )
    async with services.store.writer.begin() as conn:  # the record changed behind the registry's back
        await records.replace(conn, key_of(services, PLC), changed, services.writer.now())

    assert await services.accounts.native_secret(PLC_KEY) is None
    assert await services.accounts.authenticate(str(PLC_KEY), "restored-from-a-backup") == PLC_KEY


async def test_writes_that_leave_the_secret_as_it_is_keep_its_native_form(
    services: Services, acme: Principal, node_admin: Principal
) -> None:
    await services.records.put_values(acme, ACME_ADMIN.handle, [HandleValue.text(2, "EMAIL", "it@acme.cn")])
    await services.signing.rotate()  # rewrites the node's prefix handle

    assert await services.accounts.native_secret(ACME_ADMIN) == ACME_SECRET.encode()
    assert await services.accounts.native_secret(node_admin) == ADMIN_SECRET.encode()


# -- who gets an answer ----------------------------------------------------------------------------------


async def test_a_secret_stored_as_a_hash_only_serves_basic_and_has_no_native_form(
    services: Services, acme: Principal
) -> None:
    hashed = services.accounts.passwords.hash("plc-secret")
    await services.records.put_record(acme, PLC, [seckey(hashed)])

    assert await services.accounts.native_secret(PLC_KEY) is None
    assert await services.accounts.authenticate(str(PLC_KEY), "plc-secret") == PLC_KEY
    assert await services.accounts.authenticate(str(ACME_ADMIN), ACME_SECRET) == ACME_ADMIN  # and sealed ones


async def test_a_disabled_enterprise_gets_no_native_secret_until_enabled(
    services: Services, node_admin: Principal, acme: Principal
) -> None:
    await services.records.put_record(acme, PLC, plc_values())
    await services.accounts.set_enterprise_status(node_admin, ACME, DISABLED)

    for principal in (ACME_ADMIN, PLC_KEY):
        with pytest.raises(AuthenticationFailed, match="disabled"):
            await services.accounts.native_secret(principal)
    assert (
        await services.accounts.native_secret(Principal.parse(f"300:0.NA/{OTHER}")) == OTHER_SECRET.encode()
    )

    await services.accounts.set_enterprise_status(node_admin, ACME, ACTIVE)

    assert await services.accounts.native_secret(ACME_ADMIN) == ACME_SECRET.encode()
    assert await services.accounts.native_secret(PLC_KEY) == b"plc-secret"


async def test_a_principal_without_a_sealed_secret_gets_none_at_the_cost_of_one_that_has_one(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[str] = []

    def counting(key: bytes, row: SecretRow) -> str:
        opened.append(row.handle)
        return open_secret(key, row)

    monkeypatch.setattr("registry.accounts.open_secret", counting)
    cases = {
        "an unknown handle": (Principal.parse("300:0.NA/88.999.7"), None),
        "a key index it lacks": (Principal.parse(f"301:0.NA/{ACME}"), None),
        "a value that is no key": (Principal.parse(f"100:0.NA/{ACME}"), None),
        "a key": (ACME_ADMIN, ACME_SECRET.encode()),
    }
    for case, (principal, expected) in cases.items():
        before = len(opened)
        assert await services.accounts.native_secret(principal) == expected, case
        assert len(opened) == before + 1, case
