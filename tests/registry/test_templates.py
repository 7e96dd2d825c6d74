"""Data templates on their own: parsing the SNMS JSON form and checking a record's values against it."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from importlib import resources
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry import AdminData, HandleValue, HexData, InvalidHandle, InvalidInput, InvalidValue
from registry.templates import InvalidTemplate, Template, parse_template, template_version

SHIPPED = ["automotive-part.json", "steel-coil.json"]
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def shipped(name: str) -> dict[str, Any]:
    text = resources.files("registry.template_data").joinpath(name).read_text(encoding="utf-8")
    parsed: dict[str, Any] = orjson.loads(text)
    return parsed


def coil_template_json() -> dict[str, Any]:
    return shipped("steel-coil.json")


def coil_template() -> Template:
    return parse_template(coil_template_json())


def part_template() -> Template:
    return parse_template(shipped("automotive-part.json"))


def coil_values(**changes: str | None) -> list[HandleValue]:
    """The business values of a good steel coil, with some changed (or left out, when None)."""
    data = {
        "heatNo": (2000, "H26-00417"),
        "slabNo": (2001, "S26-00417-2"),
        "coilNo": (2002, "C0004171"),
        "grade": (2003, "Q355B GB/T 1591-2018"),
        "thicknessMm": (2004, "3.75"),
        "widthMm": (2005, "1250"),
        "weightKg": (2006, "21450"),
    }
    values = []
    for kind, (index, text) in data.items():
        value = changes.get(kind, text)
        if value is not None:
            values.append(HandleValue.text(index, kind, value))
    return values


# -- parsing ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SHIPPED)
def test_the_shipped_templates_parse(name: str) -> None:
    template = parse_template(shipped(name))

    assert (template.prefix, template.version) == ("88.999.1", "1.0")
    assert template.industry["industryCategory"] == "C"
    assert [item.id_index for item in template.items] == sorted(item.id_index for item in template.items)
    assert all(item.id_index >= 2000 and item.enabled for item in template.items)


def test_a_parsed_template_keeps_every_item_and_constraint() -> None:
    template = coil_template()

    heat = template.item(2000)
    thickness = template.item(2004)
    slab = template.item(2001)
    assert heat is not None
    assert thickness is not None
    assert slab is not None
    assert (heat.name, heat.id_type, heat.required) == ("炉号", "heatNo", True)
    assert (heat.constraint.min_length, heat.constraint.max_length) == (1, 20)
    assert (thickness.id_type, thickness.constraint.type) == ("thicknessMm", "number")
    assert not slab.required
    assert template.item(1999) is None


def test_a_template_survives_its_json_form() -> None:
    template = coil_template()

    assert parse_template(orjson.loads(orjson.dumps(template.to_json()))) == template


def _set(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(body: dict[str, Any]) -> None:
        body[key] = value

    return change


def _drop(key: str) -> Callable[[dict[str, Any]], None]:
    def change(body: dict[str, Any]) -> None:
        body.pop(key)

    return change


def _item(position: int, key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(body: dict[str, Any]) -> None:
        body["items"][position][key] = value

    return change


def _metadata(position: int, **meta: Any) -> Callable[[dict[str, Any]], None]:
    def change(body: dict[str, Any]) -> None:
        body["items"][position]["metadata"] = meta

    return change


def _industry(specific: str, trade: str, subclass: str) -> Callable[[dict[str, Any]], None]:
    def change(body: dict[str, Any]) -> None:
        body.update(industrySpecific=specific, industryTrade=trade, industrySubclass=subclass)

    return change


BAD_TEMPLATES = {
    "items missing": (_drop("items"), "items"),
    "items empty": (_set("items", []), "items"),
    "idIndex below 2000": (_item(1, "idIndex", 1999), "idIndex"),
    "idIndex of the template value": (_item(0, "idIndex", 1001), "idIndex"),
    "idIndex not a number": (_item(0, "idIndex", "2000"), "idIndex"),
    "idIndex twice": (_item(1, "idIndex", 2000), "idIndex"),
    "state 2": (_item(0, "state", 2), "state"),
    "state as text": (_item(0, "state", "1"), "state"),
    "required as text": (_item(0, "required", "true"), "required"),
    "required as a number": (_item(0, "required", 1), "required"),
    "metadata type unknown": (_metadata(0, type="integer"), "metadata.type"),
    "minLength above maxLength": (_metadata(0, type="string", minLength=10, maxLength=5), "minLength"),
    "maxLength negative": (_metadata(0, type="string", maxLength=-1), "maxLength"),
    "industryCategory missing": (_drop("industryCategory"), "industryCategory"),
    "industryCategory U": (_set("industryCategory", "U"), "industryCategory"),
    "industryCategory lower case": (_set("industryCategory", "c"), "industryCategory"),
    "industryCategory two letters": (_set("industryCategory", "CA"), "industryCategory"),
    "trade not under specific": (_industry("31", "320", "3200"), "中类"),
    "subclass not under trade": (_industry("31", "313", "3140"), "小类"),
    "version too long": (_set("version", "1." + "0" * 127), "version"),
    "version empty": (_set("version", " "), "version"),
    "name missing": (lambda body: body["items"][0].pop("name"), "name"),
    "type 3": (_set("type", 3), "type"),
}


@pytest.mark.parametrize("case", BAD_TEMPLATES.keys())
def test_a_bad_template_is_refused_with_a_chinese_message_naming_the_field(case: str) -> None:
    change, field_name = BAD_TEMPLATES[case]
    body = copy.deepcopy(coil_template_json())
    change(body)

    with pytest.raises(InvalidTemplate) as refused:
        parse_template(body)

    assert field_name in refused.value.message
    assert CHINESE.search(refused.value.message)


def test_a_version_of_128_characters_is_accepted() -> None:
    body = coil_template_json() | {"version": "1." + "0" * 126}

    assert len(parse_template(body).version) == 128


def test_the_message_of_a_bad_item_says_which_item() -> None:
    body = coil_template_json()
    body["items"][3]["idIndex"] = 100

    with pytest.raises(InvalidTemplate, match=r"items\[3\]"):
        parse_template(body)


def test_industry_codes_may_stop_at_any_level() -> None:
    body = coil_template_json()
    del body["industryTrade"], body["industrySubclass"]

    assert parse_template(body).industry == {"industryCategory": "C", "industrySpecific": "31"}


def test_a_prefix_that_is_not_a_prefix_is_refused() -> None:
    with pytest.raises(InvalidInput):
        parse_template(coil_template_json() | {"prefix": "88.999.1/COIL"})


# Arbitrary JSON, and above all JSON that looks like a template, so that the property reaches every check.
_KEYS = [
    "prefix",
    "version",
    "items",
    "name",
    "idType",
    "idIndex",
    "required",
    "state",
    "metadata",
    "type",
    "minLength",
    "maxLength",
    "industryCategory",
    "industrySpecific",
    "industryTrade",
    "industrySubclass",
    "description",
]
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**40), max_value=2**40)
    | st.sampled_from([0, 1, 2, 1999, 2000, 2**31, 1.0, 0.0, float("nan")])
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8)
    | st.sampled_from(["88.999.1", "1.0", "C", "31", "313", "3130", "string", "number", "date", ""])
)
JSON = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(_KEYS) | st.text(max_size=4), inner, max_size=6)
    ),
    max_leaves=30,
)


def _mutated(body: dict[str, Any], path: list[int], value: Any) -> dict[str, Any]:
    """`body` with one of its fields, or one field of one of its items, replaced by `value`."""
    body = copy.deepcopy(body)
    target: dict[str, Any] = body
    if path[0] % 2 and body["items"]:
        target = body["items"][path[1] % len(body["items"])]
        if path[2] % 3 == 0:
            target = target.setdefault("metadata", {})
    keys = sorted(set(target) | set(_KEYS))
    target[keys[path[3] % len(keys)]] = value
    return body


def _parse_or_refuse(obj: Any) -> None:
    refusal: InvalidInput | None = None
    try:
        template = parse_template(obj)
    except InvalidInput as exc:  # anything else (KeyError, TypeError…) fails the test
        refusal = exc
    if refusal is None:
        assert template.items
    else:
        assert isinstance(refusal, InvalidTemplate | InvalidHandle)  # InvalidHandle: the prefix
        assert refusal.message


@given(JSON)
def test_parsing_arbitrary_json_only_ever_refuses_it_as_invalid_input(obj: Any) -> None:
    _parse_or_refuse(obj)


@given(st.lists(st.integers(min_value=0, max_value=100), min_size=4, max_size=4), JSON)
def test_parsing_a_template_with_one_arbitrary_field_only_ever_refuses_it_as_invalid_input(
    path: list[int], value: Any
) -> None:
    _parse_or_refuse(_mutated(coil_template_json(), path, value))


# -- checking values -------------------------------------------------------------------------------------


def test_a_good_record_follows_its_template() -> None:
    coil_template().check(coil_values())


def test_optional_items_may_be_left_out() -> None:
    coil_template().check(coil_values(slabNo=None, widthMm=None, weightKg=None))


def _refusal(template: Template, values: list[HandleValue]) -> str:
    with pytest.raises(InvalidValue) as refused:
        template.check(values)
    assert CHINESE.search(refused.value.message)
    return refused.value.message


def test_a_value_at_an_index_the_template_lacks_is_refused() -> None:
    message = _refusal(coil_template(), [*coil_values(), HandleValue.text(2050, "colour", "blue")])

    assert "2050" in message
    assert "colour" in message


def test_a_value_of_another_type_at_a_known_index_is_refused() -> None:
    values = [v for v in coil_values() if v.index != 2004] + [HandleValue.text(2004, "thickness", "3.75")]

    message = _refusal(coil_template(), values)

    assert "2004" in message
    assert "thicknessMm" in message  # the item the index belongs to
    assert "thickness" in message.replace("thicknessMm", "")  # and the type that was sent


def test_a_value_of_a_disabled_item_is_refused() -> None:
    body = coil_template_json()
    body["items"][1]["state"] = 0  # slabNo
    template = parse_template(body)

    assert "slabNo" in _refusal(template, coil_values())
    template.check(coil_values(slabNo=None))


def test_a_disabled_required_item_is_not_required() -> None:
    body = coil_template_json()
    body["items"][0]["state"] = 0  # heatNo, required

    parse_template(body).check(coil_values(heatNo=None))


@pytest.mark.parametrize("kind", ["heatNo", "coilNo", "grade", "thicknessMm"])
def test_a_missing_required_item_is_refused_by_name(kind: str) -> None:
    message = _refusal(coil_template(), coil_values(**{kind: None}))

    assert kind in message


@pytest.mark.parametrize("text", ["21450", "3.75", "-4", "+0.5", ".5", "1e3", "2.5E-2"])
def test_a_number_item_takes_numbers(text: str) -> None:
    coil_template().check(coil_values(weightKg=text))


@pytest.mark.parametrize("text", ["heavy", "", "21 450", "21,450", "0x10", "1e", "NaN", "inf", "3.75mm"])
def test_a_number_item_refuses_what_is_not_a_number(text: str) -> None:
    assert "weightKg" in _refusal(coil_template(), coil_values(weightKg=text))


def part_values(production_date: str) -> list[HandleValue]:
    return [
        HandleValue.text(2000, "customerPartNo", "DF-3502010-C0100"),
        HandleValue.text(2001, "supplierPartNo", "SP-88-0042"),
        HandleValue.text(2002, "supplierCode", "S0042"),
        HandleValue.text(2003, "batchNo", "B20261122-07"),
        HandleValue.text(2004, "productionDate", production_date),
    ]


@pytest.mark.parametrize("text", ["2026-11-22", "2024-02-29"])
def test_a_date_item_takes_a_date(text: str) -> None:
    part_template().check(part_values(text))


@pytest.mark.parametrize(
    "text",
    [
        "22/11/2026",
        "2026/11/22",
        "2026-13-01",
        "2025-02-29",
        "tomorrow",
        "",
        # Not yyyy-MM-dd, though Python's date.fromisoformat reads them: SNMS clients would not.
        "20261122",
        "2026-W47-1",
    ],
)
def test_a_date_item_refuses_anything_but_yyyy_mm_dd(text: str) -> None:
    assert "productionDate" in _refusal(part_template(), part_values(text))


def test_lengths_are_checked_against_min_and_max() -> None:
    template = coil_template()  # heatNo: 1 to 20 characters

    template.check(coil_values(heatNo="H" * 20))
    template.check(coil_values(heatNo="炉"))
    assert "heatNo" in _refusal(template, coil_values(heatNo=""))
    assert "heatNo" in _refusal(template, coil_values(heatNo="H" * 21))


def test_a_business_value_must_be_a_string() -> None:
    values = [*coil_values(slabNo=None), HandleValue(2001, "slabNo", HexData("cafe"))]

    assert "slabNo" in _refusal(coil_template(), values)


def test_system_values_are_not_the_templates_business() -> None:
    values = [
        HandleValue.text(1, "URL", "https://mes.example.com/coils/C0004171"),
        HandleValue(100, "HS_ADMIN", AdminData("0.NA/88.999.1", 200, "111111111111")),
        HandleValue.text(1001, "TEMPLATE", "1.0"),
        HandleValue.text(1999, "note", "anything, whatever the template says"),
        *coil_values(),
    ]

    coil_template().check(values)


# -- the template a record names -------------------------------------------------------------------------


def test_the_template_version_is_the_template_value_at_index_1001() -> None:
    values = [HandleValue.text(1, "URL", "https://x.example"), HandleValue.text(1001, "TEMPLATE", "1.0.1")]

    assert template_version(values) == "1.0.1"
    assert template_version(coil_values()) is None


def test_index_1001_holds_only_the_template_value() -> None:
    with pytest.raises(InvalidValue, match="TEMPLATE"):
        template_version([HandleValue.text(1001, "URL", "1.0")])
