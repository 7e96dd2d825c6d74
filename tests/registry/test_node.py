"""Setting up a node and onboarding enterprises."""

from __future__ import annotations

import orjson
import pytest

from registry import (
    Conflict,
    EnterpriseInput,
    Handle,
    HandleValue,
    InvalidEnterprise,
    NotResponsible,
    Principal,
    Registry,
    add_enterprise,
    add_prefix,
    init_node,
)
from registry.enterprises import list_enterprises
from tests.conftest import ADMIN_SECRET

STEEL = EnterpriseInput(
    "鄂州低碳冶金有限公司", "91350100M000100Y43", industry="C3120", contact="ops@example.com"
)


async def test_init_again_with_the_same_prefix_changes_nothing(registry: Registry) -> None:
    again = await init_node(registry, "88.999", "a different secret")

    assert not again.created
    assert str(await registry.authenticate("300:0.NA/88.999", ADMIN_SECRET)) == "300:0.NA/88.999"


async def test_init_with_another_prefix_is_refused(registry: Registry) -> None:
    with pytest.raises(Conflict):
        await init_node(registry, "88.118", "x")


async def test_an_enterprise_gets_a_prefix_handle_with_a_public_admin_and_a_hidden_key(
    registry: Registry,
) -> None:
    made = await add_enterprise(registry, STEEL, prefix="88.999.8", secret="steel")

    values = orjson.loads(await registry.read(Handle.parse("0.NA/88.999.8")) or "[]")
    by_index = {v["index"]: v for v in values}
    assert made.prefixes == ("88.999.8",)
    assert made.credit_code == "91350100M000100Y43"
    assert by_index[100]["type"] == "HS_ADMIN"
    assert "permissions" not in by_index[100]
    assert by_index[300]["type"] == "HS_SECKEY"
    assert by_index[300]["permissions"] == "1100"
    assert str(await registry.authenticate("300:0.NA/88.999.8", "steel")) == "300:0.NA/88.999.8"


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
    registry: Registry, details: EnterpriseInput, prefix: str, error: type[Exception]
) -> None:
    with pytest.raises(error):
        await add_enterprise(registry, details, prefix=prefix, secret="s")

    async with registry.store.reader.connect() as conn:
        assert len(await list_enterprises(conn)) == 2
    assert await registry.prefixes() == ["88.999", "88.999.1", "88.999.2"]


async def test_a_further_prefix_is_administered_by_the_same_enterprise(
    registry: Registry, acme: Principal
) -> None:
    made = await add_prefix(registry, owner_prefix="88.999.1", prefix="88.999.11")

    assert made.prefixes == ("88.999.1", "88.999.11")
    assert await registry.put_record(acme, Handle.parse("88.999.11/P-1"), [HandleValue.text(1, "URL", "x")])


async def test_enterprises_are_listed_with_their_prefixes(registry: Registry) -> None:
    await add_prefix(registry, owner_prefix="88.999.2", prefix="88.999.22")

    async with registry.store.reader.connect() as conn:
        listed = await list_enterprises(conn)

    assert [(e.name, e.prefixes) for e in listed] == [
        ("Acme Parts", ("88.999.1",)),
        ("Other Steel", ("88.999.2", "88.999.22")),
    ]
    assert Principal.parse("300:0.NA/88.999.2").handle == Handle.for_prefix("88.999.2")
