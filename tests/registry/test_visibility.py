"""Who reads which values of a record (`registry.visibility`): a table of readers × values, over the record
as the node stores and caches it."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from registry import Handle, HandleValue, Naming, Principal, encode_values, value_from_json
from registry.visibility import Reader, public_values, value_public
from tests.conftest import NODE_PREFIX

DRAWING = Handle.parse("88.999.1/DRAWING-1")


def _values(*extra: dict[str, Any]) -> list[dict[str, Any]]:
    """The chain leader's record: a public URL, an admin-only note, a drawing number shared with 88.999.2
    and the whole of 88.999.4, and `extra` values."""
    sent = [
        {"index": 1, "type": "URL", "data": "https://acme.example/p/1"},
        {"index": 2, "type": "internalNote", "data": "margin 31%", "permissions": "1100"},
        {"index": 2001, "type": "drawingNo", "data": "DWG-4711", "readers": ["88.999.2", "88.999.4"]},
        *extra,
    ]
    stored: list[dict[str, Any]] = orjson.loads(encode_values([value_from_json(v) for v in sent]))
    return stored


def _reader(name: str, naming: Naming | None = None) -> Reader:
    return Reader(Principal.parse(name), naming or Naming(), NODE_PREFIX)


def _shown(reader: Reader, values: list[dict[str, Any]], handle: Handle = DRAWING) -> list[int]:
    view = reader.view(handle, values)
    return [v["index"] for v in (public_values(values) if view is None else view)]


@pytest.mark.parametrize(
    ("principal", "indexes"),
    [
        ("300:0.NA/88.999.1", [1, 2, 2001]),  # the chain leader, owner of its prefix
        ("301:0.NA/88.999.1", [1, 2, 2001]),  # another key of its prefix handle
        ("300:0.NA/88.999", [1, 2, 2001]),  # the node administrator
        ("300:0.NA/88.999.2", [1, 2001]),  # a supplier the drawing is shared with
        ("300:88.999.2/MES-LINE-3", [1, 2001]),  # an identity of that supplier's, under its prefix
        ("300:0.NA/88.999.4.7", [1, 2001]),  # under a prefix the drawing is shared with
        ("300:0.NA/88.999.3", [1]),  # another supplier
        ("300:0.NA/88.999.20", [1]),  # a prefix that only begins like a listed one
        ("300:0.NA/88.999.1.5", [1]),  # a prefix under the leader's does not own the leader's records
    ],
)
def test_each_reader_sees_the_public_values_and_what_is_shared_with_it(
    principal: str, indexes: list[int]
) -> None:
    assert _shown(_reader(principal), _values()) == indexes


def test_a_prefix_above_a_derived_one_does_not_own_its_records() -> None:
    """88.999.1.7 has administrators of its own (registry/authz.py): 88.999.1's are partners at most."""
    derived = Handle.parse("88.999.1.7/DRAWING-1")

    assert _shown(_reader("300:0.NA/88.999.1"), _values(), derived) == [1]
    assert _shown(_reader("300:0.NA/88.999.1.7"), _values(), derived) == [1, 2, 2001]
    assert _shown(_reader("300:0.NA/88.999"), _values(), derived) == [1, 2, 2001]


def test_a_supplier_is_not_told_whom_else_a_value_is_shared_with() -> None:
    view = _reader("300:0.NA/88.999.2").view(DRAWING, _values())

    assert view is not None
    assert [v.get("readers") for v in view] == [None, None]


def test_the_owner_sees_the_readers() -> None:
    view = _reader("300:0.NA/88.999.1").view(DRAWING, _values())

    assert view is not None
    assert view[2]["readers"] == ["88.999.2", "88.999.4"]


def test_a_reader_shown_nothing_beyond_the_public_values_shares_their_view() -> None:
    # None: the front end then sends the rendering every anonymous caller is sent (kept with the answer).
    assert _reader("300:0.NA/88.999.3").view(DRAWING, _values()) is None
    public = [v for v in _values() if v["index"] == 1]
    assert _reader("300:0.NA/88.999.1").view(DRAWING, public) is None


def test_values_without_admin_read_stay_hidden_from_the_owner_too() -> None:
    write_only = {"index": 3, "type": "x", "data": "y", "permissions": "0100"}

    assert _shown(_reader("300:0.NA/88.999.1"), _values(write_only)) == [1, 2, 2001]


def _admin(handle: str, index: int | str, permissions: str) -> dict[str, Any]:
    value = {"handle": handle, "index": index, "permissions": permissions}
    return {"index": 100, "type": "HS_ADMIN", "data": {"format": "admin", "value": value}}


READ_VALUE_ONLY = "010000000000"  # bit 10, the second character from the left
ALL_BUT_READ = "101111111111"


@pytest.mark.parametrize(
    ("admin", "owner"),
    [
        (_admin("0.NA/88.999.3", 300, READ_VALUE_ONLY), True),
        (_admin("0.NA/88.999.3", 0, READ_VALUE_ONLY), True),  # index 0: any of its keys
        (_admin("0.NA/88.999.3", 200, READ_VALUE_ONLY), True),  # its own group, which it controls
        (_admin("0.na/88.999.3", "300", READ_VALUE_ONLY), True),  # as the node tells handles apart
        (_admin("0.NA/88.999.3", 300, ALL_BUT_READ), False),
        (_admin("0.NA/88.999.30", 300, READ_VALUE_ONLY), False),
    ],
)
def test_an_hs_admin_value_granting_read_value_makes_its_principal_an_owner(
    admin: dict[str, Any], owner: bool
) -> None:
    assert _shown(_reader("300:0.NA/88.999.3"), _values(admin)) == ([1, 2, 100, 2001] if owner else [1, 100])


def test_an_hs_admin_value_naming_a_key_of_another_handle_counts_for_that_key_only() -> None:
    admin = _admin("88.999.3/APP-1", 301, READ_VALUE_ONLY)

    assert _shown(_reader("301:88.999.3/APP-1"), _values(admin)) == [1, 2, 100, 2001]
    assert _shown(_reader("300:88.999.3/APP-1"), _values(admin)) == [1, 100]


def test_under_the_case_sensitive_rule_a_differently_cased_handle_is_another_principal() -> None:
    admin = _admin("88.999.3/app-1", 300, READ_VALUE_ONLY)
    sensitive = Naming(case_sensitive=True)

    assert _shown(_reader("300:88.999.3/APP-1", sensitive), _values(admin)) == [1, 100]
    assert _shown(_reader("300:88.999.3/APP-1"), _values(admin)) == [1, 2, 100, 2001]


def test_a_malformed_hs_admin_value_grants_nothing() -> None:
    broken = {"index": 100, "type": "HS_ADMIN", "data": {"format": "admin", "value": "0.NA/88.999.3"}}

    assert _shown(_reader("300:0.NA/88.999.3"), [*_values(), broken]) == [1, 100]


def test_the_public_rule_over_stored_json_is_the_values_own() -> None:
    values = [
        HandleValue.text(1, "URL", "x"),
        value_from_json({"index": 2, "type": "t", "data": "d", "readers": ["88.999.2"]}),
    ]

    assert [value_public(v) for v in orjson.loads(encode_values(values))] == [v.public for v in values]


def test_a_value_shared_with_the_node_prefix_is_shared_with_every_enterprise_of_the_node() -> None:
    everyone = {"index": 2002, "type": "recall", "data": "R-7", "readers": ["88.999"]}

    assert _shown(_reader("300:0.NA/88.999.3"), _values(everyone)) == [1, 2002]
    assert _shown(_reader("300:0.NA/86.100"), _values(everyone)) == [1]
