"""The clients against the fake node: every operation, its results and its errors, sync and async alike."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from sdk import (
    AuthenticationError,
    ConflictError,
    ForbiddenError,
    HandleValue,
    NotFoundError,
    Record,
    ValidationError,
)
from sdk.testing import FakeNode
from tests.sdk.conftest import PREFIX, Both

Make = Callable[..., Both]
COIL = {"heatNo": "H26001", "coilNo": "C0001", "grade": "Q355B", "thicknessMm": "3.75"}


async def test_values_take_their_indexes_from_the_template(closing: Make, node: FakeNode) -> None:
    client = closing()

    result = await client("register", f"{PREFIX}/COIL-1", COIL, template_version="1.0")

    assert result.status == "created"
    assert [(v["index"], v["type"]) for v in node.records[f"{PREFIX}/COIL-1"]] == [
        (1001, "TEMPLATE"), (2000, "heatNo"), (2002, "coilNo"), (2003, "grade"), (2004, "thicknessMm"),
    ]  # fmt: skip


async def test_without_a_template_values_are_numbered_in_order(closing: Make, node: FakeNode) -> None:
    await closing()("register", f"{PREFIX}/NOTE-1", {"URL": "https://mes.example.com/1", "EMAIL": "qa@x.cn"})

    assert [(v["index"], v["type"]) for v in node.records[f"{PREFIX}/NOTE-1"]] == [(1, "URL"), (2, "EMAIL")]


async def test_a_type_the_template_lacks_is_refused_before_sending(closing: Make, node: FakeNode) -> None:
    with pytest.raises(ValidationError, match="colour"):
        await closing()("register", f"{PREFIX}/COIL-2", COIL | {"colour": "blue"}, template_version="1.0")
    assert f"{PREFIX}/COIL-2" not in node.records


async def test_a_repeated_create_with_the_same_values_counts_as_done(closing: Make) -> None:
    client = closing()
    await client("register", f"{PREFIX}/COIL-1", COIL, template_version="1.0")

    again = await client("register", f"{PREFIX}/COIL-1", COIL, template_version="1.0")

    assert again.status == "existed"
    with pytest.raises(ConflictError):
        await client("register", f"{PREFIX}/COIL-1", COIL | {"heatNo": "H9"}, template_version="1.0")


async def test_resolve_gives_a_record_or_none(closing: Make) -> None:
    client = closing()
    await client("register", f"{PREFIX}/COIL-1", COIL, template_version="1.0")

    record = await client("resolve", f"{PREFIX}/COIL-1")
    only = await client("resolve", f"{PREFIX}/COIL-1", types=["heatNo"])

    assert isinstance(record, Record)
    assert (record.get("coilNo"), record.template_version) == ("C0001", "1.0")
    assert [v.type for v in only.values] == ["heatNo"]
    assert await client("resolve", f"{PREFIX}/NOPE") is None


async def test_register_many_chunks_and_reports_each_record(closing: Make, node: FakeNode) -> None:
    client = closing()
    records = [(f"{PREFIX}/COIL-{n}", COIL | {"coilNo": f"C{n}"}) for n in range(25)]
    records.insert(10, (f"{PREFIX}/BAD", {"heatNo": "H1"}))  # no coilNo: refused by the template
    records.append(("88.999.2/NOT-MINE", COIL))

    batch = await client("register_many", records, chunk_size=10, template_version="1.0")

    assert [r.handle for r in batch] == [h for h, _ in records]
    assert batch.count("created") == 25
    assert [r.handle for r in batch.failed] == [f"{PREFIX}/BAD", "88.999.2/NOT-MINE"]
    assert sum(path.endswith("batchCreate") for _, path in node.requests) == 3


async def test_register_many_takes_records_and_values_lists(closing: Make, node: FakeNode) -> None:
    record = Record(f"{PREFIX}/FROM-RECORD", (HandleValue(1, "URL", "https://x"),))

    batch = await closing()("register_many", [record, (f"{PREFIX}/PAIR", [HandleValue(2, "EMAIL", "a@b")])])

    assert batch.ok
    assert node.value(f"{PREFIX}/FROM-RECORD", "URL") == "https://x"


async def test_resolve_many_keeps_the_order_and_marks_missing_ones(closing: Make) -> None:
    client = closing()
    await client("register_many", [(f"{PREFIX}/R-{n}", {"URL": str(n)}) for n in range(5)])

    found = await client("resolve_many", [f"{PREFIX}/R-3", f"{PREFIX}/NONE", f"{PREFIX}/R-0"])

    assert [r.get("URL") if r else None for r in found] == ["3", None, "0"]


async def test_update_replaces_business_values(closing: Make, node: FakeNode) -> None:
    client = closing()
    await client("register", f"{PREFIX}/COIL-1", COIL, template_version="1.0")

    result = await client("update", f"{PREFIX}/COIL-1", COIL | {"grade": "Q235B"}, template_version="1.0")

    assert result.status == "updated"
    assert node.value(f"{PREFIX}/COIL-1", "grade") == "Q235B"
    with pytest.raises(NotFoundError):
        await client("update", f"{PREFIX}/GONE", COIL, template_version="1.0")


async def test_delete_and_link(closing: Make, node: FakeNode) -> None:
    client = closing()
    await client("register_many", [(f"{PREFIX}/HEAT-1", {"URL": "h"}), (f"{PREFIX}/COIL-9", {"URL": "c"})])

    linked = await client("link", f"{PREFIX}/HEAT-1", f"{PREFIX}/COIL-9", relation="cutFrom")
    twice = await client("link", f"{PREFIX}/HEAT-1", f"{PREFIX}/COIL-9", relation="cutFrom")
    child = await client("resolve", f"{PREFIX}/COIL-9")
    deleted = await client("delete", f"{PREFIX}/HEAT-1")

    assert (linked.status, twice.status) == ("linked", "existed")
    assert child.links == {"cutFrom": [f"{PREFIX}/HEAT-1"]}
    assert deleted.status == "deleted"
    assert f"{PREFIX}/HEAT-1" not in node.records
    with pytest.raises(NotFoundError):
        await client("delete", f"{PREFIX}/HEAT-1")


async def test_writing_under_another_enterprise_prefix_is_forbidden(closing: Make) -> None:
    with pytest.raises(ForbiddenError):
        await closing()("register", "88.999.2/COIL-1", COIL)


async def test_wrong_credentials_are_an_authentication_error(closing: Make) -> None:
    with pytest.raises(AuthenticationError):
        await closing(secret="wrong")("register", f"{PREFIX}/X", {"URL": "x"})


async def test_the_read_cache_serves_a_record_for_its_ttl(closing: Make, node: FakeNode) -> None:
    client = closing(cache_size=100)
    await client("register", f"{PREFIX}/COIL-1", COIL, template_version="1.0")

    for _ in range(5):
        await client("resolve", f"{PREFIX}/COIL-1")
    await client("update", f"{PREFIX}/COIL-1", COIL | {"grade": "X1"}, template_version="1.0")
    after = await client("resolve", f"{PREFIX}/COIL-1")

    assert sum(method == "GET" and path.endswith("COIL-1") for method, path in node.requests) == 2
    assert after.get("grade") == "X1"  # its own write is never hidden by the cache
