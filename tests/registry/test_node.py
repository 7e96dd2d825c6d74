"""Setting up a node and onboarding enterprises."""

from __future__ import annotations

import orjson
import pytest

from registry import (
    Conflict,
    EnterpriseInput,
    Handle,
    HandleNotFound,
    HandleValue,
    InvalidEnterprise,
    Naming,
    NodeNotInitialised,
    NotResponsible,
    PermissionDenied,
    Principal,
    Services,
    Store,
    init_node,
    read_node,
)
from tests.conftest import ADMIN_SECRET, fast_passwords

STEEL = EnterpriseInput(
    "鄂州低碳冶金有限公司", "91350100M000100Y43", industry="C3120", contact="ops@example.com"
)


async def test_init_again_with_the_same_prefix_changes_nothing(services: Services) -> None:
    again = await init_node(
        services.store,
        "88.999",
        "a different secret",
        passwords=fast_passwords(),
        naming=Naming(case_sensitive=True),
    )

    assert not again.created
    assert str(await services.accounts.authenticate("300:0.NA/88.999", ADMIN_SECRET)) == "300:0.NA/88.999"
    assert (await read_node(services.store)).naming == Naming()  # the case rule is fixed at set-up


async def test_init_with_another_prefix_is_refused(services: Services) -> None:
    with pytest.raises(Conflict):
        await init_node(services.store, "88.118", "x", passwords=fast_passwords(), naming=Naming())


async def test_the_node_reads_back_its_prefix_rule_and_administrator(services: Services) -> None:
    node = await read_node(services.store)

    assert (node.prefix, node.naming) == ("88.999", Naming(case_sensitive=False))
    assert node.admin == Principal.parse("300:0.NA/88.999")
    assert services.node == node


async def test_a_database_without_a_node_has_no_services(database_url: str) -> None:
    store = Store.open(database_url, pool_size=1)  # migrated, but nobody ran `idnode init`
    try:
        with pytest.raises(NodeNotInitialised):
            await read_node(store)
        with pytest.raises(NodeNotInitialised):
            await Services.open(store)
    finally:
        await store.close()


async def test_an_enterprise_gets_a_prefix_handle_with_a_public_admin_and_a_hidden_key(
    services: Services,
) -> None:
    made = await services.enterprises.add(services.node.admin, STEEL, prefix="88.999.8", secret="steel")

    values = orjson.loads(await services.reads.stored(Handle.parse("0.NA/88.999.8")) or "[]")
    by_index = {v["index"]: v for v in values}
    assert made.prefixes == ("88.999.8",)
    assert made.credit_code == "91350100M000100Y43"
    assert by_index[100]["type"] == "HS_ADMIN"
    assert "permissions" not in by_index[100]
    assert by_index[300]["type"] == "HS_SECKEY"
    assert by_index[300]["permissions"] == "1100"
    assert str(await services.accounts.authenticate("300:0.NA/88.999.8", "steel")) == "300:0.NA/88.999.8"
    assert await services.enterprises.find("88.999.8") == made


@pytest.mark.parametrize(
    ("details", "prefix", "error"),
    [
        (EnterpriseInput("Bad Code", "91350100M000100Y44"), "88.999.8", InvalidEnterprise),
        (EnterpriseInput("  ", "91350100M000100Y43"), "88.999.8", InvalidEnterprise),
        (STEEL, "88.118.8", NotResponsible),  # not under this node
        (STEEL, "88.999", NotResponsible),  # the node's own prefix
        (STEEL, "88.999.1", Conflict),  # taken
        (EnterpriseInput("Same Code", "91420700MA4K8XQ3T3"), "88.999.9", Conflict),  # credit code taken
    ],
)
async def test_bad_onboarding_is_refused_and_leaves_nothing_behind(
    services: Services, details: EnterpriseInput, prefix: str, error: type[Exception]
) -> None:
    with pytest.raises(error):
        await services.enterprises.add(services.node.admin, details, prefix=prefix, secret="s")

    assert len(await services.enterprises.all()) == 2
    assert await services.reads.prefixes() == ["88.999", "88.999.1", "88.999.2"]


async def test_only_the_node_administrator_onboards_enterprises_and_prefixes(
    services: Services, acme: Principal
) -> None:
    # The redesign made the acting principal a required argument: onboarding is authorised like any write.
    with pytest.raises(PermissionDenied):
        await services.enterprises.add(acme, STEEL, prefix="88.999.8", secret="steel")
    with pytest.raises(PermissionDenied):
        await services.enterprises.add_prefix(acme, owner_prefix="88.999.1", prefix="88.999.11")

    assert len(await services.enterprises.all()) == 2
    assert await services.reads.prefixes() == ["88.999", "88.999.1", "88.999.2"]


async def test_a_further_prefix_is_administered_by_the_same_enterprise(
    services: Services, acme: Principal
) -> None:
    made = await services.enterprises.add_prefix(
        services.node.admin, owner_prefix="88.999.1", prefix="88.999.11"
    )

    assert made.prefixes == ("88.999.1", "88.999.11")
    record = [HandleValue.text(1, "URL", "x")]
    assert await services.records.put_record(acme, Handle.parse("88.999.11/P-1"), record)


async def test_a_further_prefix_needs_an_enterprise_that_owns_the_first(services: Services) -> None:
    with pytest.raises(HandleNotFound):
        await services.enterprises.add_prefix(
            services.node.admin, owner_prefix="88.999.7", prefix="88.999.77"
        )

    assert await services.reads.prefixes() == ["88.999", "88.999.1", "88.999.2"]


async def test_enterprises_are_listed_with_their_prefixes(services: Services) -> None:
    await services.enterprises.add_prefix(services.node.admin, owner_prefix="88.999.2", prefix="88.999.22")

    listed = await services.enterprises.all()

    assert [(e.name, e.prefixes) for e in listed] == [
        ("Acme Parts", ("88.999.1",)),
        ("Other Steel", ("88.999.2", "88.999.22")),
    ]
    assert Principal.parse("300:0.NA/88.999.2").handle == Handle.for_prefix("88.999.2")


async def test_the_next_free_prefix_follows_the_highest_number_given_out(services: Services) -> None:
    assert await services.enterprises.next_free_prefix() == "88.999.3"

    await services.enterprises.add(services.node.admin, STEEL, prefix="88.999.8", secret="steel")

    assert await services.enterprises.next_free_prefix() == "88.999.9"


async def test_finding_the_enterprise_of_an_unknown_prefix_fails(services: Services) -> None:
    with pytest.raises(HandleNotFound):
        await services.enterprises.find("88.999.7")
