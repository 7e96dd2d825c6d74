"""Handle values and their typed data (HS_ADMIN, HS_VLIST, HS_SITE) against byte vectors written out from
RFC 3651's layouts field by field, and their properties: binary and JSON forms read back."""

from __future__ import annotations

import ipaddress
import json
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sdk.native.bodies import read_site, site_body
from sdk.native.codes import OpCode, OpFlag
from sdk.native.message import Message
from sdk.native.values import (
    Admin,
    Interface,
    Server,
    Site,
    Value,
    data_bytes,
    decode_references,
    decode_values,
    encode_references,
    encode_values,
    from_json,
    to_json,
)
from sdk.native.wire import Reader, WireError

U8 = st.integers(0, 0xFF)
U16 = st.integers(0, 0xFFFF)
U32 = st.integers(0, 0xFFFFFFFF)
INT32 = st.integers(-(2**31), 2**31 - 1)


def be32(n: int) -> bytes:
    return struct.pack(">I", n)


def string(text: str) -> bytes:
    raw = text.encode()
    return be32(len(raw)) + raw


# --- a handle value ---------------------------------------------------------------------------------------

VALUE = (
    struct.pack(">i", 100)  # 0: index
    + be32(1_600_000_000)  # 4: timestamp
    + bytes([1])  # 8: TTL type: absolute
    + be32(1_900_000_000)  # 9: TTL
    + bytes([0b1011])  # 13: permissions: admin read, public read, public write
    + string("URL")  # 14: type
    + string("https://example.com/产品")  # data
    + be32(2) + string("88.118.8/REF") + struct.pack(">i", 1) + string("0.NA/88") + struct.pack(">i", -7)
)  # fmt: skip
THE_VALUE = Value(
    index=100, type="URL", data="https://example.com/产品".encode(), ttl=1_900_000_000, ttl_type=1,
    timestamp=1_600_000_000, permissions=0b1011, references=(("88.118.8/REF", 1), ("0.NA/88", -7)),
)  # fmt: skip


def test_a_value_is_laid_out_as_the_rfc_says() -> None:
    assert THE_VALUE.encode() == VALUE
    reader = Reader(VALUE)
    assert Value.decode(reader) == THE_VALUE
    assert reader.remaining == 0


def test_a_value_takes_the_defaults_of_a_new_value() -> None:
    raw = struct.pack(">i", 1) + be32(0) + bytes([0]) + be32(86_400) + bytes([0b1110]) + string("EMAIL")
    raw += string("a@b.c") + be32(0)

    assert Value(1, "EMAIL", b"a@b.c").encode() == raw


def test_the_permission_byte_keeps_its_four_bits() -> None:
    raw = VALUE[:13] + b"\xf5" + VALUE[14:]

    assert Value.decode(Reader(raw)).permissions == 0x5


@pytest.mark.parametrize(("type_", "data"), [("", b""), ("URL", b""), ("", b"x")])
def test_the_smallest_values_are_read_in_a_list(type_: str, data: bytes) -> None:
    # 26 bytes is the smallest a value can be: a value count must not ask for more a value.
    value = Value(1, type_, data)
    raw = be32(1) + value.encode()

    assert len(value.encode()) == 26 + len(type_) + len(data)
    assert decode_values(Reader(raw)) == [value]
    assert decode_values(Reader(encode_values([value, value]))) == [value, value]


def test_a_value_count_the_bytes_cannot_hold_is_refused() -> None:
    with pytest.raises(WireError, match="cannot fit"):
        decode_values(Reader(be32(2) + Value(1, "", b"").encode()))
    with pytest.raises(WireError, match="cannot fit"):
        decode_values(Reader(be32(0xFFFFFFFF) + VALUE))


def test_a_cut_value_is_refused() -> None:
    for cut in range(len(VALUE)):
        with pytest.raises(WireError):
            Value.decode(Reader(VALUE[:cut]))


VALUES = st.builds(
    Value,
    index=INT32,
    type=st.text(max_size=20),
    data=st.binary(max_size=200),
    ttl=U32,
    ttl_type=U8,
    timestamp=U32,
    permissions=st.integers(0, 15),
    references=st.lists(st.tuples(st.text(max_size=20), INT32), max_size=3).map(tuple),
)


@given(st.lists(VALUES, max_size=4))
def test_values_read_back(values: list[Value]) -> None:
    reader = Reader(encode_values(values))

    assert decode_values(reader) == values
    assert reader.remaining == 0


# --- HS_ADMIN ---------------------------------------------------------------------------------------------

ADMIN = struct.pack(">H", 0x0FF3) + string("0.NA/88.118.8") + struct.pack(">i", 200)


def test_hs_admin_is_a_two_byte_mask_a_handle_and_an_index() -> None:
    assert Admin(0x0FF3, "0.NA/88.118.8", 200).encode() == ADMIN
    assert Admin.decode(ADMIN) == Admin(0x0FF3, "0.NA/88.118.8", 200)


def test_hs_admin_keeps_the_twelve_permission_bits() -> None:
    assert Admin.decode(b"\xff\xff" + ADMIN[2:]).permissions == 0x0FFF


def test_legacy_hs_admin_as_the_reference_writes_it() -> None:
    # Encoder.encodeAdminRecord sized the record for a 4-byte mask but wrote 2: two zeros trail the index.
    assert Admin.decode(ADMIN + b"\0\0") == Admin(0x0FF3, "0.NA/88.118.8", 200)


def test_hs_admin_cut_or_with_bytes_after_it_is_refused() -> None:
    for extra in (b"\0", b"\0\0\0", b"\0" * 8):
        with pytest.raises(WireError):
            Admin.decode(ADMIN + extra)
    for cut in range(len(ADMIN)):
        with pytest.raises(WireError):
            Admin.decode(ADMIN[:cut])


def test_hs_admin_in_json_writes_the_mask_most_significant_bit_first() -> None:
    value = Value(100, "HS_ADMIN", ADMIN)

    assert to_json(value)["data"] == {
        "format": "admin",
        "value": {"handle": "0.NA/88.118.8", "index": 200, "permissions": "111111110011"},
    }
    assert data_bytes({"format": "admin", "value": to_json(value)["data"]["value"]}) == ADMIN


# --- HS_VLIST and references ------------------------------------------------------------------------------

VLIST = (
    be32(2) + string("88.118.8/admins") + struct.pack(">i", 300) + string("0.NA/88") + struct.pack(">i", -1)
)


def test_hs_vlist_is_a_count_and_handle_index_pairs() -> None:
    refs = [("88.118.8/admins", 300), ("0.NA/88", -1)]

    assert encode_references(refs) == VLIST
    assert decode_references(VLIST) == refs
    assert decode_references(be32(0)) == []
    assert to_json(Value(200, "HS_VLIST", VLIST))["data"] == {
        "format": "vlist",
        "value": [{"handle": "88.118.8/admins", "index": 300}, {"handle": "0.NA/88", "index": -1}],
    }


def test_hs_vlist_cut_padded_or_overcounted_is_refused() -> None:
    for bad in (VLIST + b"\0", VLIST[:-1], be32(3) + VLIST[4:], be32(0x10000000) + VLIST[4:]):
        with pytest.raises(WireError):
            decode_references(bad)


@given(st.lists(st.tuples(st.text(max_size=30), INT32), max_size=5))
def test_references_read_back(refs: list[tuple[str, int]]) -> None:
    assert decode_references(encode_references(refs)) == refs


# --- HS_SITE ----------------------------------------------------------------------------------------------

KEY = b"\x00\x00\x00\x06RSA..." + bytes(range(20))
SITE = (
    struct.pack(">H", 1)  # version
    + bytes([2, 10])  # protocol 2.10
    + struct.pack(">H", 5)  # serial
    + bytes([0x80])  # primary, not multi-primary
    + bytes([2])  # hash option: whole handle
    + string("")  # hash filter
    + be32(1) + string("desc") + string("测试 site")  # attributes
    + be32(1)  # one server
    + be32(1)  # server id
    + bytes(12) + bytes([192, 0, 2, 7])  # IPv4, left-padded with 12 zero bytes
    + be32(len(KEY)) + KEY  # public key
    + be32(3)  # interfaces: type, protocol, port
    + bytes([2, 1]) + be32(2641)  # query, TCP
    + bytes([1, 0]) + be32(2641)  # admin, UDP
    + bytes([3, 2]) + be32(8000)  # both, HTTP
)  # fmt: skip
THE_SITE = Site(
    serial=5,
    servers=(
        Server(1, "192.0.2.7", KEY, (Interface(2, 1, 2641), Interface(1, 0, 2641), Interface(3, 2, 8000))),
    ),
    attributes=(("desc", "测试 site"),),
    primary=True,
    multi_primary=False,
    hash_option=2,
    hash_filter="",
    protocol=(2, 10),
    version=1,
)


def test_hs_site_is_laid_out_as_the_rfc_says() -> None:
    assert THE_SITE.encode() == SITE
    assert Site.decode(SITE) == THE_SITE


@pytest.mark.parametrize("address", ["2001:db8::2641", "::ffff:192.0.2.7", "::ff:c000:207", "fe80::1"])
def test_an_ipv6_server_address_takes_all_sixteen_bytes(address: str) -> None:
    raw = SITE.replace(bytes(12) + bytes([192, 0, 2, 7]), ipaddress.IPv6Address(address).packed)

    assert Site.decode(raw).servers[0].address == str(ipaddress.IPv6Address(address))  # as Python writes it
    assert Site.decode(raw).encode() == raw


def test_an_ipv6_address_with_twelve_leading_zero_bytes_reads_as_ipv4() -> None:
    # The format cannot tell ::c000:207 from 192.0.2.7; the reference's ServerInfo.isIPv4 reads it so too.
    raw = SITE.replace(bytes(12) + bytes([192, 0, 2, 7]), ipaddress.IPv6Address("::c000:207").packed)

    assert raw == SITE
    assert Site.decode(raw).servers[0].address == "192.0.2.7"


def test_site_flags_and_the_hash_filter() -> None:
    raw = SITE[:6] + bytes([0x40, 0]) + string("0") + SITE[12:]
    site = Site.decode(raw)

    assert (site.primary, site.multi_primary, site.hash_option, site.hash_filter) == (False, True, 0, "0")
    assert site.encode() == raw


def test_a_get_site_info_answer_is_the_site_after_any_digest() -> None:
    rd = bytes([3]) + bytes(range(32))

    assert site_body(THE_SITE, rd) == rd + SITE
    assert read_site(Message(OpCode.GET_SITE_INFO, 1, OpFlag.RD, rd + SITE)) == THE_SITE
    assert read_site(Message(OpCode.GET_SITE_INFO, 1, OpFlag.NONE, SITE)) == THE_SITE
    with pytest.raises(WireError, match="unexpected"):
        read_site(Message(OpCode.GET_SITE_INFO, 1, OpFlag.NONE, SITE + b"\0"))


def test_a_cut_or_padded_site_is_refused() -> None:
    for cut in range(len(SITE)):
        with pytest.raises(WireError):
            Site.decode(SITE[:cut])
    with pytest.raises(WireError, match="unexpected"):
        Site.decode(SITE + b"\0")


def test_hs_site_in_json() -> None:
    site = to_json(Value(1, "HS_SITE", SITE))["data"]

    assert site["format"] == "site"
    assert site["value"]["protocolVersion"] == "2.10"
    assert site["value"]["servers"][0]["address"] == "192.0.2.7"
    assert site["value"]["servers"][0]["interfaces"] == [
        {"query": True, "admin": False, "protocol": "TCP", "port": 2641},
        {"query": False, "admin": True, "protocol": "UDP", "port": 2641},
        {"query": True, "admin": True, "protocol": "HTTP", "port": 8000},
    ]
    assert data_bytes(site) == SITE


def _distinct_on_the_wire(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    # An IPv6 address whose first 12 bytes are zero (::1, ::a.b.c.d) is written as the IPv4 one: the format
    # cannot tell them apart (the reference's ServerInfo.isIPv4 reads them so too).
    return ip.version == 4 or ip.packed[:12] != bytes(12)


ADDRESSES = st.ip_addresses().filter(_distinct_on_the_wire).map(str)
INTERFACES = st.builds(Interface, U8, U8, U32)
SERVERS = st.builds(
    Server, U32, ADDRESSES, st.binary(max_size=40), st.lists(INTERFACES, max_size=3).map(tuple)
)
SITES = st.builds(
    Site,
    serial=U16,
    servers=st.lists(SERVERS, max_size=3).map(tuple),
    attributes=st.lists(st.tuples(st.text(max_size=10), st.text(max_size=10)), max_size=3).map(tuple),
    primary=st.booleans(),
    multi_primary=st.booleans(),
    hash_option=U8,
    hash_filter=st.text(max_size=5),
    protocol=st.tuples(U8, U8),
    version=U16,
)


@given(SITES)
def test_a_site_reads_back(site: Site) -> None:
    assert Site.decode(site.encode()) == site


# The smallest attribute is 8 bytes (two empty strings), server 28 (no key, no interfaces), interface 6.
SMALLEST = {"attribute": bytes(8), "server": bytes(28), "interface": bytes(6)}


def _site_with(what: str, count: int, items: int) -> bytes:
    """A site whose attributes, servers or one server's interfaces are `count` says, `items` there."""
    head = struct.pack(">H", 1) + bytes([2, 11]) + struct.pack(">H", 1) + bytes([0x80, 2]) + string("")
    listed = be32(count) + SMALLEST[what] * items
    if what == "attribute":
        return head + listed + be32(0)
    if what == "server":
        return head + be32(0) + listed
    return head + be32(0) + be32(1) + be32(1) + bytes(16) + be32(0) + listed


@pytest.mark.parametrize("what", ["attribute", "server", "interface"])
@pytest.mark.parametrize("count", [1, 2, 5])
def test_site_counts_are_refused_exactly_when_the_smallest_items_cannot_fit(what: str, count: int) -> None:
    assert Site.decode(_site_with(what, count, count))
    # One more than there are: refused by the count, before any item is read.
    with pytest.raises(WireError, match=f"{what}: {count + 1} items cannot fit"):
        Site.decode(_site_with(what, count + 1, count))


def test_counts_of_values_and_references_are_refused_exactly_when_they_cannot_fit() -> None:
    # The smallest value is 26 bytes, the smallest reference 8.
    smallest = Value(0, "", b"").encode()
    assert len(smallest) == 26
    assert decode_values(Reader(be32(3) + smallest * 3)) == [Value(0, "", b"")] * 3
    with pytest.raises(WireError, match="value: 4 items cannot fit"):
        decode_values(Reader(be32(4) + smallest * 3))
    assert decode_references(be32(3) + bytes(8) * 3) == [("", 0)] * 3
    with pytest.raises(WireError, match="reference: 4 items cannot fit"):
        decode_references(be32(4) + bytes(8) * 3)


# --- JSON ⇄ binary ----------------------------------------------------------------------------------------

SPECIAL = {"HS_ADMIN", "HS_VLIST", "HS_SITE", "HS_SITE.PREFIX"}
ADMINS = st.builds(Admin, st.integers(0, 0x0FFF), st.text(max_size=30), INT32).map(Admin.encode)
VLISTS = st.lists(st.tuples(st.text(max_size=20), INT32), max_size=4).map(encode_references)
# In JSON, an interface's type is two booleans and its protocol a name or a number: types 0–3 only.
JSON_SITES = SITES.filter(lambda s: all(i.kind <= 3 for server in s.servers for i in server.interfaces))
TYPED_DATA = st.one_of(
    st.tuples(st.text(max_size=20).filter(lambda t: t not in SPECIAL), st.text(max_size=50).map(str.encode)),
    st.tuples(st.text(max_size=20).filter(lambda t: t not in SPECIAL), st.binary(max_size=50)),
    st.tuples(st.just("HS_ADMIN"), ADMINS),
    st.tuples(st.just("HS_VLIST"), VLISTS),
    st.tuples(st.sampled_from(["HS_SITE", "HS_SITE.PREFIX"]), JSON_SITES.map(Site.encode)),
)


@given(
    INT32, TYPED_DATA, U32, st.sampled_from([0, 1]), U32, st.integers(0, 15),
    st.lists(st.tuples(st.text(max_size=20), INT32), max_size=3),
)  # fmt: skip
def test_json_reads_back_as_the_same_binary_value(
    index: int, typed: tuple[str, bytes], ttl: int, ttl_type: int, timestamp: int, permissions: int,
    refs: list[tuple[str, int]],
) -> None:  # fmt: skip
    type_, data = typed
    value = Value(index, type_, data, ttl, ttl_type, timestamp, permissions, tuple(refs))
    # Through JSON text, as the REST API and the store carry it.
    carried = json.loads(json.dumps(to_json(value)))

    assert from_json(carried) == value


def test_json_of_a_value_as_the_rest_api_writes_it() -> None:
    assert to_json(THE_VALUE) == {
        "index": 100,
        "type": "URL",
        "data": {"format": "string", "value": "https://example.com/产品"},
        "ttl": "2030-03-17T17:46:40Z",
        "timestamp": "2020-09-13T12:26:40Z",
        "permissions": "1011",
        "references": [{"handle": "88.118.8/REF", "index": 1}, {"handle": "0.NA/88", "index": -7}],
    }
    assert to_json(Value(1, "X", b"\xff\x00")) == {
        "index": 1,
        "type": "X",
        "data": {"format": "base64", "value": "/wA="},
        "ttl": 86_400,
    }


def test_json_defaults_and_data_formats() -> None:
    assert from_json({"index": 2, "type": "EMAIL", "data": "a@b.c"}) == Value(2, "EMAIL", b"a@b.c")
    assert (
        from_json({"index": 2, "type": "X", "data": {"format": "hex", "value": "ff00"}}).data == b"\xff\x00"
    )
    assert from_json({"index": 2, "type": "X", "ttl": "1970-01-02T00:00:00Z"}).ttl == 86_400
    assert from_json({"index": 2, "type": "X", "ttl": "1970-01-02T00:00:00Z"}).ttl_type == 1


@pytest.mark.parametrize(
    "bad",
    [
        {"type": "URL"},
        {"index": "one", "type": "URL"},
        {"index": 1, "type": "URL", "data": {"format": "base64", "value": "***"}},
        {"index": 1, "type": "URL", "data": {"format": "hex", "value": "0"}},
        {"index": 1, "type": "URL", "data": {"format": "key", "value": {}}},
        {"index": 1, "type": "URL", "data": {"format": "nonsense", "value": ""}},
        {"index": 1, "type": "HS_ADMIN", "data": {"format": "admin", "value": {"handle": "x"}}},
        {"index": 1, "type": "URL", "permissions": "12"},
        {"index": 1, "type": "URL", "ttl": "tomorrow"},
        [],
    ],
)
def test_malformed_json_is_refused_as_an_invalid_value(bad: object) -> None:
    with pytest.raises(WireError) as refused:
        from_json(bad)
    assert refused.value.code == 202
