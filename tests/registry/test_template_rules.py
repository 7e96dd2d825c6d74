"""Data templates in the registry, on SQLite and PostgreSQL: who keeps them, and records that follow them."""

from __future__ import annotations

import dataclasses
from importlib import resources
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from registry import (
    Conflict,
    Handle,
    HandleNotFound,
    HandleValue,
    InvalidInput,
    InvalidValue,
    PermissionDenied,
    Principal,
    RecordInput,
    Services,
    TemplateNotFound,
    delete_many,
    register_many,
    update_many,
)
from registry.codec import decode_values
from registry.store.schema import handles
from registry.templates import Template, parse_template
from tests.conftest import ACME

COIL = Handle.parse("88.999.1/COIL-0004171")


def coil_json() -> dict[str, Any]:
    text = resources.files("registry.template_data").joinpath("steel-coil.json").read_text(encoding="utf-8")
    parsed: dict[str, Any] = orjson.loads(text)
    return parsed


def coil_template(**changes: Any) -> Template:
    return parse_template(coil_json() | changes)


def with_items(template: Template, **items: Any) -> Template:
    """`template` with the items of these idTypes changed (`dict` of fields) or dropped (None)."""
    kept = []
    for item in template.items:
        change = items.get(item.id_type, {})
        if change is not None:
            kept.append(dataclasses.replace(item, **change))
    return dataclasses.replace(template, items=tuple(kept))


def coil_values(version: str | None = "1.0", **changes: str | None) -> list[HandleValue]:
    """A good steel coil naming template `version`, with some business values changed (None: left out)."""
    data = {
        "heatNo": (2000, "H26-00417"),
        "slabNo": (2001, "S26-00417-2"),
        "coilNo": (2002, "C0004171"),
        "grade": (2003, "Q355B"),
        "thicknessMm": (2004, "3.75"),
        "weightKg": (2006, "21450"),
    }
    values = [HandleValue.text(1, "URL", "https://mes.example.com/coils/C0004171")]
    if version is not None:
        values.append(HandleValue.text(1001, "TEMPLATE", version))
    for kind, (index, text) in data.items():
        value = changes.get(kind, text)
        if value is not None:
            values.append(HandleValue.text(index, kind, value))
    return values


async def template_column(services: Services, handle: Handle) -> str | None:
    async with services.store.reader.connect() as conn:
        key = services.node.naming.key(handle)
        stmt = select(handles.c.template_version).where(handles.c.handle == key)
        rows = (await conn.execute(stmt)).all()
    assert len(rows) == 1, f"{handle} is not stored"
    value: str | None = rows[0][0]
    return value


async def stored_values(services: Services, handle: Handle) -> dict[int, tuple[str, str]]:
    raw = await services.reads.stored(handle)
    assert raw is not None, f"{handle} is not stored"
    return {v.index: (v.type, str(v.data.to_json())) for v in decode_values(raw)}  # type: ignore[union-attr]


@pytest.fixture
async def coil_in_use(services: Services, acme: Principal) -> Template:
    """Template 1.0 of 88.999.1, which the record COIL follows."""
    template = coil_template()
    await services.templates.add(acme, template)
    await services.records.put_record(acme, COIL, coil_values())
    return template


# -- keeping templates -----------------------------------------------------------------------------------


async def test_an_enterprise_adds_a_template_for_its_prefix_and_reads_it_back(
    services: Services, acme: Principal
) -> None:
    template = coil_template()

    await services.templates.add(acme, template)

    assert await services.templates.get(ACME) == [template]
    assert await services.templates.get(ACME, "1.0") == [template]
    with pytest.raises(TemplateNotFound):
        await services.templates.get(ACME, "2.0")


async def test_every_version_of_a_prefix_reads_back(services: Services, acme: Principal) -> None:
    await services.templates.add(acme, coil_template(version="2.0"))
    await services.templates.add(acme, coil_template(version="1.0"))

    assert [t.version for t in await services.templates.get(ACME)] == ["1.0", "2.0"]


async def test_another_enterprise_may_not_add_a_template_for_a_prefix(
    services: Services, other: Principal
) -> None:
    with pytest.raises(PermissionDenied):
        await services.templates.add(other, coil_template())

    assert await services.templates.get(ACME) == []


async def test_another_enterprise_may_not_change_nor_remove_a_template(
    services: Services, acme: Principal, other: Principal
) -> None:
    template = coil_template()
    await services.templates.add(acme, template)

    with pytest.raises(PermissionDenied):
        await services.templates.change(other, with_items(template, heatNo={"enabled": False}))
    with pytest.raises(PermissionDenied):
        await services.templates.remove(other, ACME, "1.0")

    assert await services.templates.get(ACME) == [template]


async def test_the_same_version_cannot_be_added_twice(services: Services, acme: Principal) -> None:
    first = coil_template()
    await services.templates.add(acme, first)

    with pytest.raises(Conflict):
        await services.templates.add(acme, coil_template(description="a second try"))

    assert await services.templates.get(ACME) == [first]


# -- records that name a template ------------------------------------------------------------------------


async def test_a_record_following_its_template_is_created_with_the_template_noted(
    services: Services, acme: Principal
) -> None:
    await services.templates.add(acme, coil_template())

    assert await services.records.put_record(acme, COIL, coil_values(), overwrite=False)

    assert await template_column(services, COIL) == "1.0"


async def test_a_record_without_a_template_value_notes_no_template(
    services: Services, acme: Principal
) -> None:
    await services.templates.add(acme, coil_template())

    await services.records.put_record(acme, COIL, coil_values(version=None, heatNo=None))

    assert await template_column(services, COIL) is None


async def test_a_record_lacking_a_required_item_is_refused(services: Services, acme: Principal) -> None:
    await services.templates.add(acme, coil_template())

    with pytest.raises(InvalidValue, match="heatNo"):
        await services.records.put_record(acme, COIL, coil_values(heatNo=None))

    assert await services.reads.stored(COIL) is None


async def test_a_record_breaking_an_item_constraint_is_refused(services: Services, acme: Principal) -> None:
    await services.templates.add(acme, coil_template())

    with pytest.raises(InvalidValue, match="thicknessMm"):
        await services.records.put_record(acme, COIL, coil_values(thicknessMm="thin"))

    assert await services.reads.stored(COIL) is None


async def test_a_record_naming_a_version_that_does_not_exist_is_refused(
    services: Services, acme: Principal
) -> None:
    await services.templates.add(acme, coil_template())

    with pytest.raises(InvalidValue, match=r"2\.0"):
        await services.records.put_record(acme, COIL, coil_values(version="2.0"))

    assert await services.reads.stored(COIL) is None


async def test_a_template_serves_only_its_own_prefix(
    services: Services, other: Principal, node_admin: Principal
) -> None:
    await services.templates.add(other, coil_template(prefix="88.999.2"))

    assert await services.records.put_record(other, Handle.parse("88.999.2/COIL-1"), coil_values())
    with pytest.raises(InvalidValue, match=r"88\.999\.1"):  # 88.999.1 has no template 1.0 of its own
        await services.records.put_record(node_admin, COIL, coil_values())
    assert await services.reads.stored(COIL) is None


async def test_changed_values_are_checked_against_the_template_too(
    services: Services, acme: Principal, coil_in_use: Template
) -> None:
    with pytest.raises(InvalidValue, match="weightKg"):
        await services.records.put_values(acme, COIL, [HandleValue.text(2006, "weightKg", "heavy")])
    with pytest.raises(InvalidValue, match="heatNo"):
        await services.records.delete_values(acme, COIL, [2000])

    assert (await stored_values(services, COIL))[2006] == ("weightKg", "21450")


# -- templates in use ------------------------------------------------------------------------------------


async def test_a_template_in_use_cannot_be_removed(
    services: Services, acme: Principal, coil_in_use: Template
) -> None:
    with pytest.raises(Conflict):
        await services.templates.remove(acme, ACME, "1.0")

    assert await services.templates.get(ACME) == [coil_in_use]


async def test_an_item_in_use_cannot_be_dropped(
    services: Services, acme: Principal, coil_in_use: Template
) -> None:
    with pytest.raises(InvalidInput, match="millCertUrl"):
        await services.templates.change(acme, with_items(coil_in_use, millCertUrl=None))

    assert await services.templates.get(ACME) == [coil_in_use]


async def test_an_item_in_use_cannot_change_its_type(
    services: Services, acme: Principal, coil_in_use: Template
) -> None:
    with pytest.raises(InvalidInput, match="weightKg"):
        await services.templates.change(acme, with_items(coil_in_use, weightKg={"id_type": "weightT"}))

    assert await services.templates.get(ACME) == [coil_in_use]


async def test_an_item_in_use_can_be_disabled_and_then_no_new_record_may_use_it(
    services: Services, acme: Principal, coil_in_use: Template
) -> None:
    disabled = with_items(coil_in_use, slabNo={"enabled": False})

    await services.templates.change(acme, disabled)

    assert await services.templates.get(ACME, "1.0") == [disabled]
    with pytest.raises(InvalidValue, match="slabNo"):
        await services.records.put_record(acme, Handle.parse("88.999.1/COIL-2"), coil_values())
    assert await services.reads.stored(Handle.parse("88.999.1/COIL-2")) is None
    await services.records.put_record(acme, Handle.parse("88.999.1/COIL-3"), coil_values(slabNo=None))
    assert await template_column(services, Handle.parse("88.999.1/COIL-3")) == "1.0"


async def test_a_template_nobody_uses_can_be_changed_at_will(services: Services, acme: Principal) -> None:
    template = coil_template()
    await services.templates.add(acme, template)
    smaller = with_items(template, millCertUrl=None, weightKg={"id_type": "weightT"})

    await services.templates.change(acme, smaller)

    assert await services.templates.get(ACME) == [smaller]


async def test_changing_a_template_that_does_not_exist_fails(services: Services, acme: Principal) -> None:
    with pytest.raises(TemplateNotFound):
        await services.templates.change(acme, coil_template())


async def test_an_unused_template_can_be_removed(services: Services, acme: Principal) -> None:
    await services.templates.add(acme, coil_template())
    await services.records.put_record(
        acme, COIL, coil_values(version=None)
    )  # a record, but not of the template

    await services.templates.remove(acme, ACME, "1.0")

    assert await services.templates.get(ACME) == []
    with pytest.raises(TemplateNotFound):
        await services.templates.remove(acme, ACME, "1.0")


async def test_a_template_whose_records_are_gone_can_be_removed(
    services: Services, acme: Principal, coil_in_use: Template
) -> None:
    await services.records.delete(acme, COIL)

    await services.templates.remove(acme, ACME, "1.0")

    assert await services.templates.get(ACME) == []


# -- batches ---------------------------------------------------------------------------------------------


async def test_register_many_fails_alone_the_item_that_breaks_the_template(
    services: Services, acme: Principal
) -> None:
    await services.templates.add(acme, coil_template())
    items = [
        RecordInput("88.999.1/COIL-1", coil_values()),
        RecordInput("88.999.1/COIL-2", coil_values(coilNo=None)),
        RecordInput("88.999.1/COIL-3", coil_values(thicknessMm="3.80")),
    ]

    results = await register_many(services.records, acme, items)

    assert [(r.handle, r.ok) for r in results] == [
        ("88.999.1/COIL-1", True),
        ("88.999.1/COIL-2", False),
        ("88.999.1/COIL-3", True),
    ]
    assert isinstance(results[1].error, InvalidValue)
    assert "coilNo" in results[1].error.message
    assert await services.reads.stored(Handle.parse("88.999.1/COIL-2")) is None
    for name in ("88.999.1/COIL-1", "88.999.1/COIL-3"):
        assert await template_column(services, Handle.parse(name)) == "1.0"


async def test_update_many_replaces_business_values_and_keeps_system_values(
    services: Services, acme: Principal, coil_in_use: Template
) -> None:
    fresh = [v for v in coil_values(weightKg=None, grade="Q235B") if v.index != 1]

    results = await update_many(
        services.records, acme, [RecordInput(str(COIL), fresh), RecordInput("88.999.1/NO-SUCH-COIL", fresh)]
    )

    assert [r.ok for r in results] == [True, False]
    assert isinstance(results[1].error, HandleNotFound)
    values = await stored_values(services, COIL)
    assert values[1] == ("URL", "https://mes.example.com/coils/C0004171")
    assert values[1001] == ("TEMPLATE", "1.0")
    assert values[2003] == ("grade", "Q235B")
    assert 2006 not in values  # weightKg was not sent again: gone
    assert await template_column(services, COIL) == "1.0"
    assert await services.reads.stored(Handle.parse("88.999.1/NO-SUCH-COIL")) is None


async def test_update_many_checks_the_merged_record_against_the_template(
    services: Services, acme: Principal, coil_in_use: Template
) -> None:
    broken = [v for v in coil_values(heatNo=None) if v.index != 1]

    [result] = await update_many(services.records, acme, [RecordInput(str(COIL), broken)])

    assert not result.ok
    assert isinstance(result.error, InvalidValue)
    assert (await stored_values(services, COIL))[2000] == ("heatNo", "H26-00417")


async def test_update_many_dropping_the_template_value_notes_no_template(
    services: Services, acme: Principal, coil_in_use: Template
) -> None:
    [result] = await update_many(
        services.records, acme, [RecordInput(str(COIL), [HandleValue.text(2000, "anything", "goes")])]
    )

    assert result.ok
    assert await template_column(services, COIL) is None
    await services.templates.remove(acme, ACME, "1.0")  # nobody uses it any more


async def test_delete_many_fails_alone_a_missing_handle_and_another_enterprises_handle(
    services: Services, acme: Principal, other: Principal
) -> None:
    theirs = Handle.parse("88.999.2/COIL-9")
    await services.records.put_record(other, theirs, coil_values(version=None))
    for n in (1, 2):
        await services.records.put_record(acme, Handle.parse(f"88.999.1/COIL-{n}"), coil_values(version=None))

    results = await delete_many(
        services.records, acme, ["88.999.1/COIL-1", "88.999.1/GONE", str(theirs), "88.999.1/COIL-2"]
    )

    assert [r.ok for r in results] == [True, False, False, True]
    assert isinstance(results[1].error, HandleNotFound)
    assert isinstance(results[2].error, PermissionDenied)
    assert await services.reads.stored(Handle.parse("88.999.1/COIL-1")) is None
    assert await services.reads.stored(Handle.parse("88.999.1/COIL-2")) is None
    assert await services.reads.stored(theirs) is not None


async def test_replace_business_values_keeps_the_system_values(
    services: Services, acme: Principal, coil_in_use: Template
) -> None:
    fresh = [v for v in coil_values(slabNo=None, weightKg="21460") if v.index != 1]

    await services.records.replace_business_values(acme, COIL, fresh)

    values = await stored_values(services, COIL)
    assert values[1] == ("URL", "https://mes.example.com/coils/C0004171")
    assert values[2006] == ("weightKg", "21460")
    assert 2001 not in values
    assert await template_column(services, COIL) == "1.0"


async def test_replace_business_values_is_checked_against_the_template(
    services: Services, acme: Principal, coil_in_use: Template
) -> None:
    with pytest.raises(InvalidValue, match="grade"):
        await services.records.replace_business_values(acme, COIL, coil_values(grade=None)[1:])

    assert (await stored_values(services, COIL))[2003] == ("grade", "Q355B")


# -- counts ----------------------------------------------------------------------------------------------


async def test_counts_say_how_many_handles_a_prefix_holds_by_template(
    services: Services, acme: Principal, coil_in_use: Template
) -> None:
    await services.records.put_record(acme, Handle.parse("88.999.1/COIL-2"), coil_values(version=None))

    counts = {count.prefix: count for count in await services.reads.counts()}

    assert counts[ACME].handles == 2
    assert counts[ACME].templates == {"1.0": 1, "": 1}  # "": registered without a template
    assert "88.999.2" not in counts  # no records yet
