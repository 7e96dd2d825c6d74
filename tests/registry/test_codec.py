"""The Handle REST JSON form of values: what clients send, what is stored and served, and what is refused."""

from __future__ import annotations

import base64
import contextlib
from typing import Any

import orjson
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from registry import (
    AdminData,
    Base64Data,
    HandleValue,
    HexData,
    InvalidInput,
    InvalidValue,
    KeyData,
    OpaqueData,
    Reference,
    StringData,
    VListData,
    decode_values,
    encode_values,
    parse_body,
    pubkeys,
    value_from_json,
    values_from_json,
)
from registry.values import MAX_INDEX

URL = "https://mes.example.com/parts/PART-0001"
ADMIN_JSON = {"handle": "0.NA/88.999.1", "index": 200, "permissions": "011111110011"}
NOV_21 = 1_795_251_250  # 2026-11-21T08:54:10Z


def url_value(**extra: Any) -> dict[str, Any]:
    return {"index": 1, "type": "URL", "data": {"format": "string", "value": URL}, **extra}


# --- HandleValue.to_json ----------------------------------------------------------------------------


def test_a_plain_value_has_index_type_data_ttl_in_that_order_and_nothing_else() -> None:
    out = HandleValue.text(1, "URL", URL).to_json()

    assert list(out) == ["index", "type", "data", "ttl"]
    assert out == {"index": 1, "type": "URL", "data": {"format": "string", "value": URL}, "ttl": 86400}


def test_a_full_value_keeps_the_order_clients_compare_byte_for_byte() -> None:
    value = HandleValue(
        1,
        "URL",
        StringData(URL),
        timestamp=NOV_21,
        permissions="1100",
        references=(Reference("88.999.1/PART-0002", 1),),
    )

    out = value.to_json()

    assert list(out) == ["index", "type", "data", "ttl", "timestamp", "permissions", "references"]
    assert out["timestamp"] == "2026-11-21T08:54:10Z"
    assert out["permissions"] == "1100"
    assert out["references"] == [{"handle": "88.999.1/PART-0002", "index": 1}]


def test_the_usual_permissions_and_a_zero_timestamp_are_left_out() -> None:
    out = HandleValue(1, "URL", StringData(URL), timestamp=0, permissions="1110").to_json()

    assert "timestamp" not in out
    assert "permissions" not in out
    assert "references" not in out


def test_a_pre_rendered_timestamp_takes_the_place_of_the_stored_one() -> None:
    out = HandleValue(1, "URL", StringData(URL), timestamp=NOV_21).to_json("2030-01-01T00:00:00Z")

    assert out["timestamp"] == "2030-01-01T00:00:00Z"


def test_an_absolute_ttl_is_written_as_a_time() -> None:
    out = HandleValue(1, "URL", StringData(URL), ttl=NOV_21, ttl_absolute=True).to_json()

    assert out["ttl"] == "2026-11-21T08:54:10Z"


def test_admin_data_is_written_as_handle_index_permissions() -> None:
    out = HandleValue(100, "HS_ADMIN", AdminData("0.NA/88.999.1", 200)).to_json()

    assert out["data"] == {"format": "admin", "value": ADMIN_JSON}


# --- value_from_json: the forms clients send --------------------------------------------------------


def test_data_may_be_a_bare_string() -> None:
    value = value_from_json({"index": 1, "type": "URL", "data": URL})

    assert value == HandleValue.text(1, "URL", URL)


def test_admin_data_may_give_its_index_as_a_string() -> None:
    # pyhandle's register_handle sends {"index": "200", ...}.
    admin = {"handle": "0.NA/88.999.1", "index": "200", "permissions": "011111110011"}

    value = value_from_json({"index": 100, "type": "HS_ADMIN", "data": {"format": "admin", "value": admin}})

    assert value.data == AdminData("0.NA/88.999.1", 200, "011111110011")
    assert value.to_json()["data"] == {"format": "admin", "value": ADMIN_JSON}


def test_a_value_index_may_be_a_string_of_digits() -> None:
    assert value_from_json({"index": "2000", "type": "batch", "data": "B-07"}).index == 2000


def test_admin_data_without_permissions_gets_the_usual_ones() -> None:
    data = {"format": "admin", "value": {"handle": "0.NA/88.999.1", "index": 200}}

    assert value_from_json({"index": 100, "type": "HS_ADMIN", "data": data}).data == AdminData(
        "0.NA/88.999.1", 200, "011111110011"
    )


def test_vlist_data_is_a_list_of_references() -> None:
    refs = [{"handle": "0.NA/88.999.1", "index": 300}, {"handle": "88.999.1/ops", "index": "0"}]

    value = value_from_json({"index": 200, "type": "HS_VLIST", "data": {"format": "vlist", "value": refs}})

    assert value.data == VListData((Reference("0.NA/88.999.1", 300), Reference("88.999.1/ops", 0)))
    assert value.to_json()["data"]["value"] == [
        {"handle": "0.NA/88.999.1", "index": 300},
        {"handle": "88.999.1/ops", "index": 0},
    ]


@pytest.mark.parametrize("encoded", ["aGVsbG8=", "", "AAEC/w=="])
def test_valid_base64_data_is_accepted_as_sent(encoded: str) -> None:
    data = value_from_json({"index": 1, "type": "BLOB", "data": {"format": "base64", "value": encoded}}).data

    assert data == Base64Data(encoded)


@pytest.mark.parametrize("encoded", ["aGVsbG8", "not base64!", "aGVs\nbG8=", "wrzDqQ==é", 42])
def test_invalid_base64_data_is_rejected(encoded: object) -> None:
    with pytest.raises(InvalidValue):
        value_from_json({"index": 1, "type": "BLOB", "data": {"format": "base64", "value": encoded}})


@pytest.mark.parametrize("encoded", ["cafe", "CAFE", "", "00ff"])
def test_valid_hex_data_is_accepted_as_sent(encoded: str) -> None:
    data = value_from_json({"index": 1, "type": "BLOB", "data": {"format": "hex", "value": encoded}}).data

    assert data == HexData(encoded)


@pytest.mark.parametrize("encoded", ["caf", "xyz0", "0x00", None])
def test_invalid_hex_data_is_rejected(encoded: object) -> None:
    with pytest.raises(InvalidValue):
        value_from_json({"index": 1, "type": "BLOB", "data": {"format": "hex", "value": encoded}})


def test_site_data_is_kept_and_served_exactly_as_sent() -> None:
    content = {"version": 1, "servers": [{"address": "192.0.2.7", "port": 2641}]}
    value = value_from_json({"index": 1, "type": "HS_SITE", "data": {"format": "site", "value": content}})

    assert value.data == OpaqueData("site", content)
    assert value.to_json()["data"] == {"format": "site", "value": content}


RSA_JWK = {"kty": "RSA", "n": "w" + "A" * 341, "e": "AQAB"}  # a 2048-bit modulus


def test_key_data_is_a_public_key_served_as_handle_net_writes_its_jwk() -> None:
    sent = {**RSA_JWK, "kid": "mine"}  # a member Handle.Net drops
    value = value_from_json({"index": 300, "type": "HS_PUBKEY", "data": {"format": "key", "value": sent}})

    assert isinstance(value.data, KeyData)
    assert value.to_json()["data"] == {"format": "key", "value": RSA_JWK}


def test_hs_pubkey_data_sent_in_its_binary_form_is_kept_as_the_key() -> None:
    key = pubkeys.from_jwk(RSA_JWK)
    raw = base64.b64encode(key.to_bytes()).decode()

    as_base64 = value_from_json(
        {"index": 300, "type": "HS_PUBKEY", "data": {"format": "base64", "value": raw}}
    )
    other_bytes = value_from_json(
        {"index": 300, "type": "HS_PUBKEY", "data": {"format": "hex", "value": "00"}}
    )

    assert as_base64.data == KeyData(key)
    assert other_bytes.data == HexData("00")


@pytest.mark.parametrize("content", [{"kty": "RSA", "n": "0vx7agoebGcQ", "e": "AQAB"}, "a key", None])
def test_key_data_that_is_no_key_is_refused_but_read_back_if_stored_before(content: object) -> None:
    sent = {"index": 300, "type": "HS_PUBKEY", "data": {"format": "key", "value": content}}

    with pytest.raises(InvalidValue):
        value_from_json(sent)
    assert decode_values(orjson.dumps([sent]))[0].data == OpaqueData("key", content)


def test_an_absolute_ttl_round_trips_as_the_same_time() -> None:
    value = value_from_json(url_value(ttl="2026-11-21T08:54:10Z"))

    assert (value.ttl, value.ttl_absolute) == (NOV_21, True)
    assert value.to_json()["ttl"] == "2026-11-21T08:54:10Z"


def test_a_ttl_of_digits_is_a_relative_ttl() -> None:
    value = value_from_json(url_value(ttl="3600"))

    assert (value.ttl, value.ttl_absolute) == (3600, False)


def test_the_timestamp_a_client_sends_is_ignored() -> None:
    # The node stamps what it stores; a client must not backdate values.
    assert value_from_json(url_value(timestamp="2001-01-01T00:00:00Z")).timestamp == 0


# --- value_from_json: what is refused ---------------------------------------------------------------


@pytest.mark.parametrize(
    "obj",
    [
        pytest.param({"type": "URL", "data": URL}, id="no index"),
        pytest.param({"index": 1, "data": URL}, id="no type"),
        pytest.param({"index": 1, "type": "URL"}, id="no data"),
        pytest.param({"index": 0, "type": "URL", "data": URL}, id="index 0"),
        pytest.param({"index": MAX_INDEX + 1, "type": "URL", "data": URL}, id="index too big"),
        pytest.param({"index": True, "type": "URL", "data": URL}, id="index true"),
        pytest.param({"index": 1.5, "type": "URL", "data": URL}, id="index float"),
        pytest.param({"index": 1, "type": "", "data": URL}, id="empty type"),
        pytest.param({"index": 1, "type": "U\nRL", "data": URL}, id="control in type"),
        pytest.param({"index": 1, "type": 7, "data": URL}, id="type not text"),
        pytest.param({"index": 1, "type": "URL", "data": 7}, id="data number"),
        pytest.param({"index": 1, "type": "URL", "data": {"format": "string"}}, id="data without value"),
        pytest.param(
            {"index": 1, "type": "URL", "data": {"format": "url", "value": URL}}, id="unknown format"
        ),
        pytest.param(
            {"index": 1, "type": "URL", "data": {"format": "string", "value": 7}}, id="string not text"
        ),
        pytest.param(url_value(ttl=-1), id="negative ttl"),
        pytest.param(url_value(ttl=False), id="ttl false"),
        pytest.param(url_value(ttl="tomorrow"), id="ttl not a time"),
        pytest.param(url_value(permissions="111"), id="three permission bits"),
        pytest.param(url_value(permissions="1112"), id="permission bit 2"),
        pytest.param(url_value(references="88.999.1/P"), id="references not a list"),
        pytest.param(
            url_value(references=[{"handle": "nohandle", "index": 1}]), id="reference without slash"
        ),
        pytest.param(url_value(references=[{"handle": "88.999.1/P", "index": -1}]), id="negative reference"),
        pytest.param(url_value(references=["88.999.1/P"]), id="reference not an object"),
        pytest.param([], id="not an object"),
    ],
)
def test_malformed_values_are_invalid_values(obj: object) -> None:
    with pytest.raises(InvalidValue):
        value_from_json(obj)


@pytest.mark.parametrize(
    "admin",
    [
        pytest.param("0.NA/88.999.1", id="not an object"),
        pytest.param({"handle": "0.NA/88.999.1", "index": 200, "permissions": "0111"}, id="4 bits"),
        pytest.param({"handle": 88, "index": 200}, id="handle not text"),
        pytest.param({"index": 200}, id="no handle"),
        pytest.param({"handle": "0.NA/88.999.1", "index": [200]}, id="index a list"),
    ],
)
def test_malformed_admin_data_is_an_invalid_value(admin: object) -> None:
    with pytest.raises(InvalidValue):
        value_from_json({"index": 100, "type": "HS_ADMIN", "data": {"format": "admin", "value": admin}})


def test_a_string_longer_than_65535_characters_is_rejected() -> None:
    with pytest.raises(InvalidValue, match="65535"):
        value_from_json({"index": 1, "type": "NOTE", "data": "x" * 65_536})


@pytest.mark.parametrize("digits", ["²", "①", "9" * 5000], ids=["superscript", "circled", "5000 digits"])
@pytest.mark.parametrize("field", ["index", "ttl", "admin index", "reference index"])
def test_strings_that_look_like_digits_but_are_no_number_are_invalid_values(field: str, digits: str) -> None:
    # str.isdigit() is true for '²' and '①' but int() refuses them (and any 4301+ digits): that must
    # reach the client as a 400, not escape as a ValueError.
    obj = url_value()
    if field == "index":
        obj["index"] = digits
    elif field == "ttl":
        obj["ttl"] = digits
    elif field == "admin index":
        obj = {
            "index": 100,
            "type": "HS_ADMIN",
            "data": {"format": "admin", "value": {**ADMIN_JSON, "index": digits}},
        }
    else:
        obj["references"] = [{"handle": "88.999.1/P", "index": digits}]

    with pytest.raises(InvalidValue):
        value_from_json(obj)


@pytest.mark.parametrize("fmt", [[], {}, ["string"]], ids=["empty list", "object", "list"])
def test_a_format_that_is_not_text_is_an_invalid_value(fmt: object) -> None:
    with pytest.raises(InvalidValue):
        value_from_json({"index": 1, "type": "URL", "data": {"format": fmt, "value": URL}})


# --- values_from_json and parse_body ----------------------------------------------------------------


def test_values_from_json_keeps_the_order_sent() -> None:
    values = values_from_json([url_value(index=2), url_value(index=1)])

    assert [v.index for v in values] == [2, 1]


def test_a_duplicate_index_is_rejected_naming_the_second_value() -> None:
    with pytest.raises(InvalidValue, match=r"^value 2: index 1 appears twice$"):
        values_from_json([url_value(index=1), url_value(index=2), url_value(index="1")])


def test_an_error_names_the_position_of_the_bad_value() -> None:
    with pytest.raises(InvalidValue, match=r"^value 1: ") as caught:
        values_from_json([url_value(index=1), url_value(index=2, permissions="x")])

    assert "permissions" in caught.value.message


def test_a_body_may_be_a_list_of_values() -> None:
    assert parse_body([url_value()]) == (None, [HandleValue.text(1, "URL", URL)])


def test_a_body_may_be_an_object_holding_values_and_a_handle() -> None:
    handle, values = parse_body({"handle": "88.999.1/PART-0001", "values": [url_value()]})

    assert handle == "88.999.1/PART-0001"
    assert values == [HandleValue.text(1, "URL", URL)]


def test_a_body_may_be_a_single_value() -> None:
    assert parse_body(url_value()) == (None, [HandleValue.text(1, "URL", URL)])


def test_a_pyhandle_registration_body_is_understood() -> None:
    body = orjson.loads(
        b'{"values":[{"index":100,"type":"HS_ADMIN","data":{"format":"admin","value":'
        b'{"index":"200","handle":"0.NA/88.999.1","permissions":"011111110011"}}},'
        b'{"index":1,"type":"URL","data":"https://mes.example.com/parts/PART-0001"}]}'
    )

    handle, values = parse_body(body)

    assert handle is None
    assert values == [
        HandleValue(100, "HS_ADMIN", AdminData("0.NA/88.999.1", 200)),
        HandleValue.text(1, "URL", URL),
    ]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("values", id="text"),
        pytest.param(None, id="null"),
        pytest.param(7, id="number"),
        pytest.param({"values": {"index": 1}}, id="values not a list"),
        pytest.param({"values": [], "handle": 7}, id="handle not text"),
        pytest.param([url_value(), url_value()], id="duplicate index"),
    ],
)
def test_malformed_bodies_are_invalid_values(body: object) -> None:
    with pytest.raises(InvalidValue):
        parse_body(body)


# --- encode_values and decode_values ----------------------------------------------------------------


def test_encoded_values_are_ordered_by_index_and_carry_the_timestamp_given() -> None:
    values = [HandleValue.text(2000, "batch", "B-07"), HandleValue.text(1, "URL", URL)]

    stored = orjson.loads(encode_values(values, "2026-11-21T08:54:10Z"))

    assert [v["index"] for v in stored] == [1, 2000]
    assert {v["timestamp"] for v in stored} == {"2026-11-21T08:54:10Z"}


def test_decoding_keeps_the_stored_timestamp() -> None:
    (value,) = decode_values(encode_values([HandleValue.text(1, "URL", URL)], "2026-11-21T08:54:10Z"))

    assert value.timestamp == NOV_21


# --- properties -------------------------------------------------------------------------------------

# What orjson.loads can hand us: its integers fit in 64 bits, and there is no NaN or infinity.
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)

# Value-shaped objects whose fields are sometimes right and sometimes anything, to reach deep checks.
digit_like = st.text(st.characters(categories=("Nd", "No")), min_size=1, max_size=25)
numbers = st.integers(min_value=-5, max_value=2**31 + 5) | digit_like | json_values
handles = st.sampled_from(["0.NA/88.999.1", "88.999.1/P", "nohandle", ""]) | json_values
refs = st.fixed_dictionaries({}, optional={"handle": handles, "index": numbers}) | json_values
formats = st.sampled_from(["string", "base64", "hex", "admin", "vlist", "site", "key", "url"]) | json_values
contents = (
    json_values
    | st.fixed_dictionaries({"handle": handles, "index": numbers}, optional={"permissions": json_values})
    | st.lists(refs, max_size=3)
    | st.binary(max_size=8).map(lambda b: base64.b64encode(b).decode())
    | st.binary(max_size=8).map(bytes.hex)
)
datas = st.fixed_dictionaries({"value": contents}, optional={"format": formats}) | json_values
times = st.sampled_from(["2026-11-21T08:54:10Z", "1969-12-31T23:59:59Z", "2026-02-30T00:00:00Z"])
value_like = st.fixed_dictionaries(
    {"index": numbers, "type": st.sampled_from(["URL", "HS_ADMIN", ""]) | json_values, "data": datas},
    optional={
        "ttl": numbers | times,
        "timestamp": times | json_values,
        "permissions": st.sampled_from(["1110", "1100", "11100"]) | json_values,
        "references": st.lists(refs, max_size=3) | json_values,
        "readers": st.lists(st.sampled_from(["88.999.2", "88.999.x", "", "8 8", "88.999.2"]), max_size=3)
        | json_values,
    },
)


@given(json_values | value_like)
@example({"index": "²", "type": "URL", "data": URL})
@example(url_value(ttl="²"))
@example({"index": 1, "type": "URL", "data": {"format": [], "value": URL}})
def test_value_from_json_raises_nothing_but_invalid_value(obj: object) -> None:
    with contextlib.suppress(InvalidValue):
        value_from_json(obj)


@given(
    json_values
    | st.lists(value_like, max_size=3)
    | value_like
    | st.fixed_dictionaries({"values": json_values})
)
def test_parse_body_raises_nothing_but_invalid_input(body: object) -> None:
    with contextlib.suppress(InvalidInput):
        parse_body(body)


@given(value_like)
@example(url_value(ttl="1" * 25))
def test_whatever_value_from_json_accepts_can_be_stored_and_read_back(obj: dict[str, Any]) -> None:
    # A value accepted on PUT but impossible to encode would fail only after validation, as a 500.
    try:
        value = value_from_json(obj)
    except InvalidValue:
        return

    assert decode_values(encode_values([value])) == [value]


# Generated values as the node stores them: stamped, of every data format.
texts = st.text(max_size=30)
ref_handles = st.builds(lambda p, s: f"{p}/{s}", st.sampled_from(["0.NA", "88.999.1", "86.100"]), texts)
references = st.builds(Reference, ref_handles, st.integers(min_value=0, max_value=MAX_INDEX))
bits = st.text("01", min_size=4, max_size=4)
data_strategy = (
    st.builds(StringData, texts)
    | st.binary(max_size=30).map(lambda b: Base64Data(base64.b64encode(b).decode()))
    | st.binary(max_size=30).map(lambda b: HexData(b.hex()))
    | st.builds(
        AdminData,
        ref_handles,
        st.integers(min_value=0, max_value=MAX_INDEX),
        st.text("01", min_size=12, max_size=12),
    )
    | st.builds(VListData, st.lists(references, max_size=3).map(tuple))
    | st.builds(OpaqueData, st.just("site"), json_values)
    | st.builds(
        lambda n, e: KeyData(pubkeys.RsaKey(n, e)),
        st.integers(min_value=1 << 511, max_value=(1 << 4096) - 1),
        st.integers(min_value=0, max_value=1 << 32),
    )
    | st.binary(min_size=32, max_size=32).map(lambda x: KeyData(pubkeys.Ed25519Key(x)))
)
epochs = st.integers(min_value=1, max_value=253_402_300_799)  # up to 9999-12-31T23:59:59Z
reader_lists = st.lists(
    st.sampled_from(["88.999.2", "86.100", "88.999.2.7", "0.NA"]), max_size=3, unique=True
)
stored_values = st.builds(
    lambda index, type_, data, ttl, stamp, perms, refs, readers: HandleValue(
        index,
        type_,
        data,
        ttl=ttl[0],
        ttl_absolute=ttl[1],
        timestamp=stamp,
        permissions=perms,
        references=refs,
        readers=readers,
    ),
    st.integers(min_value=1, max_value=MAX_INDEX),
    st.text(min_size=1, max_size=20).filter(str.isprintable),
    data_strategy,
    st.tuples(st.integers(min_value=0, max_value=2**31 - 1), st.just(False))
    | st.tuples(epochs, st.just(True)),
    epochs,
    bits,
    st.lists(references, max_size=3).map(tuple),
    reader_lists.map(tuple),
)


@given(st.lists(stored_values, max_size=5, unique_by=lambda v: v.index))
def test_decoding_encoded_values_gives_back_the_same_values_in_index_order(values: list[HandleValue]) -> None:
    assert decode_values(encode_values(values)) == sorted(values, key=lambda v: v.index)


def test_whole_numbers_written_as_floats_are_read_as_the_integers_they_are() -> None:
    site = {"format": "site", "value": {"version": 2.0}}
    _, values = parse_body(
        [{"index": 2.0, "type": "URL", "data": "x", "ttl": 3600.0}, {"index": 3, "type": "S", "data": site}]
    )

    assert (values[0].index, values[0].ttl) == (2, 3600)
    assert values[1].data == OpaqueData("site", {"version": 2.0})  # kept as it came
    with pytest.raises(InvalidValue):
        parse_body([{"index": 2.5, "type": "URL", "data": "x"}])


# --- readers: values shared with listed enterprises -----------------------------------------------------


def test_readers_are_written_next_to_the_permissions_and_left_out_when_there_are_none() -> None:
    shared = value_from_json(url_value(permissions="1100", readers=["88.999.2"], references=[]))

    assert list(shared.to_json()) == ["index", "type", "data", "ttl", "permissions", "readers"]
    assert shared.to_json()["readers"] == ["88.999.2"]
    assert "readers" not in value_from_json(url_value()).to_json()
    assert "readers" not in value_from_json(url_value(readers=None)).to_json()


def test_readers_are_prefixes_upper_cased_each_once_in_the_order_sent() -> None:
    value = value_from_json(url_value(readers=["88.999.2", "86.100.ab", "88.999.2", "86.100.AB"]))

    assert value.readers == ("88.999.2", "86.100.AB")


def test_a_value_with_readers_is_not_public_whatever_its_permissions_say() -> None:
    assert value_from_json(url_value()).public
    assert not value_from_json(url_value(permissions="1111", readers=["88.999.2"])).public


@pytest.mark.parametrize(
    "readers",
    [
        [],
        "88.999.2",
        ["88.999.2/x"],
        ["88 999"],
        [""],
        [2],
        ["8" * 65],
        ["88.999.2"] * 2 + [f"1.{n}" for n in range(256)],
    ],
    ids=["empty", "a string", "a handle", "a space", "blank", "a number", "too long", "too many"],
)
def test_malformed_readers_are_invalid_values(readers: object) -> None:
    with pytest.raises(InvalidValue, match="reader"):
        value_from_json(url_value(readers=readers))


def test_readers_survive_storage() -> None:
    value = value_from_json(url_value(readers=["88.999.2", "88.999.3"]))

    assert decode_values(encode_values([value])) == [value]
