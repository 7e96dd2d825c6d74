"""The label parsers, pure: ISO/IEC 15434 messages (real distributor labels, VDA 4994 / Odette GTL layouts),
GS1 element strings and Digital Link URIs, node URLs and handles; bad input refused with clear errors."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry import Handle
from resolver.scan import CheckDigitError, EnvelopeError, ScanError, iso15434, understand
from resolver.scan.iso15434 import DataElement, Envelope, Message

RS, GS, EOT = "\x1e", "\x1d", "\x04"

# Labels as distributors print them (ECIA EIGP 114, in the ISO/IEC 15434 syntax), as their scanners deliver
# them: the control characters as bytes, or in the visible form a keyboard-mode scanner types.
DIGIKEY_BAG = f"[)>{RS}06{GS}P718-2362-1-ND{GS}Q2{RS}{EOT}"
EIGP_114 = f"[)>{RS}06{GS}P596-777A1-ND{GS}1PXAF4444{GS}Q3{GS}10D1452{GS}1TBF1103{GS}4LUS{RS}{EOT}"
MOUSER_BRACES = (
    "[)>{RS}06{GS}K4500016605{GS}14K008{GS}1PPWR220T-20-50R0F{GS}Q5{GS}11K086036559{GS}4LCR{GS}1VBourns"
    "{RS}{EOT}"
)
DIGIKEY_BARE_K = (
    f"[)>{RS}06{GS}PQ1045-ND{GS}1P364019-01{GS}30PQ1045-ND{GS}K{GS}1K85732873{GS}10K103332956{GS}9D231013"
    f"{GS}1TQJ13P{GS}11K1{GS}4LTW{GS}Q3{GS}11ZPICK{GS}12Z7360988{GS}13Z999999{GS}20Z{'0' * 40}{RS}{EOT}"
)
# A VDA 4994 (GTL) package label's 2D code, in the layout the recommendation gives it: license plate (1J:
# "UN" + the supplier's DUNS + a serial), customer part number, quantity, supplier number at the customer,
# batch, date; as a pasted text with control pictures.
VDA_4994 = "[)>␞06␝1JUN081466849000123457␝P4711-0815-A␝Q120␝V81466849␝1T2026W49␝6D20261204␞␄"
# A GTL master label (6J) of a mixed pallet, and a package label with GS1 data in a format 05 envelope.
GTL_MASTER = f"[)>{RS}06{GS}6JUN08146684900MASTER01{GS}P4711-0815-A{GS}Q1440{GS}S88.999.1/PART-1{RS}{EOT}"
WITH_GS1 = f"[)>{RS}05{GS}0109506000134352{GS}10LOT-7{RS}06{GS}P4711{GS}Q12{RS}{EOT}"


def fields(text: str) -> list[tuple[str, str, str]]:
    return [(f.code, f.name, f.value) for f in understand(text).fields]


def test_a_distributor_label_is_read_with_its_data_identifiers_named() -> None:
    scanned = understand(EIGP_114)

    assert scanned.kind == "iso15434"
    assert fields(EIGP_114) == [
        ("P", "part number (customer)", "596-777A1-ND"),
        ("1P", "part number (supplier)", "XAF4444"),
        ("Q", "quantity", "3"),
        ("10D", "date code (YYWW)", "1452"),
        ("1T", "batch / lot number (supplier)", "BF1103"),
        ("4L", "country of origin", "US"),
    ]
    assert scanned.keys == {"partNumber": "596-777A1-ND", "supplierPartNumber": "XAF4444", "lot": "BF1103"}
    assert scanned.handles == ()
    assert understand(DIGIKEY_BAG).fields[0].as_json() == {
        "di": "P",
        "name": "part number (customer)",
        "value": "718-2362-1-ND",
    }


def test_a_bare_identifier_is_an_empty_element_and_unknown_ones_are_named_by_category() -> None:
    read = fields(DIGIKEY_BARE_K)

    assert ("K", "customer order number", "") in read
    assert ("11Z", "mutually defined (11Z)", "PICK") in read
    assert fields(MOUSER_BRACES)[-1] == ("1V", "party (1V)", "Bourns")


def test_a_vda_4994_label_gives_its_license_plate_part_and_lot() -> None:
    scanned = understand(VDA_4994)

    assert scanned.kind == "iso15434"
    assert fields(VDA_4994)[0] == ("1J", "license plate (lowest-level package)", "UN081466849000123457")
    assert scanned.keys == {
        "licensePlate": "UN081466849000123457",
        "partNumber": "4711-0815-A",
        "supplier": "81466849",
        "lot": "2026W49",
    }
    assert fields(VDA_4994)[-1] == ("6D", "date (YYYYMMDD)", "20261204")


def test_a_field_holding_a_handle_of_the_node_leads_to_it() -> None:
    assert understand(GTL_MASTER, "88.999").handles == (Handle.parse("88.999.1/PART-1"),)
    assert understand(GTL_MASTER, "88.118").handles == ()
    assert understand(GTL_MASTER).keys["licensePlate"] == "UN08146684900MASTER01"


def test_a_format_05_envelope_holds_gs1_application_identifiers() -> None:
    scanned = understand(WITH_GS1)

    assert [(f.scheme, f.code, f.value) for f in scanned.fields] == [
        ("ai", "01", "09506000134352"),
        ("ai", "10", "LOT-7"),
        ("di", "P", "4711"),
        ("di", "Q", "12"),
    ]
    assert scanned.keys == {"gtin": "09506000134352", "lot": "LOT-7", "partNumber": "4711"}


@pytest.mark.parametrize(
    "notation",
    [
        DIGIKEY_BAG,
        "[)>␞06␝P718-2362-1-ND␝Q2␞␄",
        "[)><RS>06<GS>P718-2362-1-ND<GS>Q2<RS><EOT>",
        "[)><rs>06<gs>P718-2362-1-ND<gs>Q2<rs><eot>",
        "[)>{RS}06{GS}P718-2362-1-ND{GS}Q2{RS}{EOT}",
        "[)>^^06^]P718-2362-1-ND^]Q2^^^D",
        f"]d1{DIGIKEY_BAG}\r\n",  # a Data Matrix symbology identifier, and the scanner's Enter
    ],
)
def test_the_control_characters_are_read_in_every_form_scanners_write_them(notation: str) -> None:
    assert fields(notation) == [("P", "part number (customer)", "718-2362-1-ND"), ("Q", "quantity", "2")]


@pytest.mark.parametrize(
    ("text", "message", "position"),
    [
        (f"[)>{RS}06{GS}P4711{GS}Q12", "format 06 envelope not closed by RS", 16),
        (f"[)>{RS}06{GS}P4711{GS}Q12{RS}", "the message ends without EOT", 17),
        (f"[)>{RS}06{GS}P4711{GS}Q12{EOT}", "format 06 envelope not closed by RS", 16),
        ("[)>", "expected RS after the header", 3),
        (f"[)>{RS}", "the message ends without EOT", 4),
        (f"[)>{RS}0", "expected a two-digit format indicator", 4),
        (f"[)>{RS}06", "truncated after format indicator 06", 6),
        (f"[)>{RS}06P4711{RS}{EOT}", "expected GS after format indicator 06", 6),
        (f"[)>{RS}{EOT}", "holds no format envelope", 4),
        (f"[)>{RS}12{GS}x{RS}{EOT}", "format 12 is not supported", 4),
        (f"[)>{RS}06{GS}P4711{GS}{GS}Q12{RS}{EOT}", "empty data element", 13),
        (f"[)>{RS}06{GS}P4711{GS}4711{RS}{EOT}", "'4711' does not begin with a data identifier", 13),
        (f"[)>{RS}06{GS}P4711{RS}{EOT}Q12", "text after the end of the message", 14),
        (f"[)>{RS}05{GS}{RS}{EOT}", "holds no element string", 7),
        # positions are in the text as given, whatever its notation
        ("[)><RS>06<GS>P4711<GS>Q12", "format 06 envelope not closed by RS", 25),
        ("[)><RS>06<GS>P4711<GS><GS>Q12<RS><EOT>", "empty data element", 22),
    ],
)
def test_a_truncated_or_malformed_envelope_is_refused_at_its_position(
    text: str, message: str, position: int
) -> None:
    with pytest.raises(EnvelopeError) as refused:
        understand(text)

    assert message in refused.value.message
    assert refused.value.position == position
    assert refused.value.message.endswith(f"(at position {position})")


def test_gs1_data_in_a_15434_envelope_is_checked_too() -> None:
    with pytest.raises(CheckDigitError, match=r"AI \(01\) GTIN"):
        understand(f"[)>{RS}05{GS}0109506000134353{RS}{EOT}")


# -- GS1 ----------------------------------------------------------------------------------------------------

GTIN_LOT_SERIAL = {"gtin": "09506000134352", "lot": "ABC123", "serial": "XYZ"}


@pytest.mark.parametrize(
    "text",
    [
        f"]C1010950600013435210ABC123{GS}21XYZ",  # GS1-128, FNC1 as GS
        f"]d2010950600013435210ABC123{GS}21XYZ",  # GS1 DataMatrix
        f"]Q3010950600013435210ABC123{GS}21XYZ",  # GS1 QR Code
        f"010950600013435210ABC123{GS}21XYZ",  # no symbology identifier
        "010950600013435210ABC123␝21XYZ",
        "010950600013435210ABC123<GS>21XYZ",
        "(01)09506000134352(10)ABC123(21)XYZ",  # human-readable, as printed under the bars
    ],
)
def test_a_gs1_element_string_in_each_form(text: str) -> None:
    scanned = understand(text)

    assert scanned.kind == "gs1"
    assert scanned.keys == GTIN_LOT_SERIAL
    assert scanned.fields[0].as_json() == {"ai": "01", "name": "GTIN", "value": "09506000134352"}


def test_a_gs1_128_logistics_label_gives_its_sscc() -> None:
    scanned = understand(f"]C100106141411234567897{GS}4200{GS}")

    assert fields(f"]C100106141411234567897{GS}4200{GS}") == [
        ("00", "SSCC", "106141411234567897"),
        ("420", "SHIP TO POST", "0"),
    ]
    assert scanned.keys == {"sscc": "106141411234567897"}


def test_a_gb_t_32007_style_steel_coil_label() -> None:
    # a Chinese GTIN (prefix 690), heat number as lot, coil number as serial, net weight and production date
    text = "(01)06901234567892(10)H26001(21)C0001(3101)002350(11)261204"

    assert fields(text) == [
        ("01", "GTIN", "06901234567892"),
        ("10", "BATCH/LOT", "H26001"),
        ("21", "SERIAL", "C0001"),
        ("3101", "NET WEIGHT (kg)", "002350"),
        ("11", "PROD DATE", "261204"),
    ]


@pytest.mark.parametrize(
    "uri",
    [
        "https://id.gs1.org/01/09506000134352/10/ABC123/21/XYZ",
        "https://example.com/01/09506000134352/10/ABC123/21/XYZ?17=271231",
        "HTTPS://brand.example.cn/01/09506000134352/10/ABC123/21/XYZ",
    ],
)
def test_a_gs1_digital_link_uri_from_a_qr_code(uri: str) -> None:
    scanned = understand(uri)

    assert scanned.kind == "gs1_digital_link"
    assert scanned.keys == GTIN_LOT_SERIAL
    assert scanned.handles == ()


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("(01)09506000134353(10)ABC", "AI (01) GTIN"),
        ("0109506000134353", "AI (01) GTIN"),
        (f"]C100106141411234567898{GS}", "AI (00) SSCC"),
        ("https://id.gs1.org/01/09506000134353/21/X", "AI (01) GTIN"),
        ("(414)9506000134351", "AI (414)"),
    ],
)
def test_a_wrong_check_digit_names_the_field(text: str, field: str) -> None:
    with pytest.raises(CheckDigitError) as refused:
        understand(text)

    assert field in refused.value.message
    assert refused.value.message.startswith("check digit wrong in AI")


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("(01)09506000134352(7777)1", "Unknown GS1 Application Identifier '7777'"),
        ("0109506000134352777712", "GS1: "),
        ("(01)0950600013435", "GS1: "),
        ("(17)261340", "GS1: "),  # no 13th month
        (f"]C1{GS}", "GS1: the element string is empty"),
    ],
)
def test_a_broken_gs1_element_string_says_what_is_wrong(text: str, said: str) -> None:
    with pytest.raises(ScanError, match=r".") as refused:
        understand(text)

    assert said in refused.value.message


# -- node URLs and handles ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "handle"),
    [
        ("88.118.8/PART-1", "handle", "88.118.8/PART-1"),
        ("  88.118.8/PART-1\r\n", "handle", "88.118.8/PART-1"),
        ("86.100.3/COIL/2026/0001", "handle", "86.100.3/COIL/2026/0001"),
        ("http://node:8000/api/handles/88.118.8/PART-1", "node_url", "88.118.8/PART-1"),
        ("https://node.example.com/88.118.8/PART-1", "node_url", "88.118.8/PART-1"),
        ("https://node.example.com/88.118.8/PART%201?locatt=view:json", "node_url", "88.118.8/PART 1"),
        ("https://hdl.handle.net/20.500.12345/abc", "node_url", "20.500.12345/abc"),
        ("]Q1https://node.example.com/88.118.8/PART-1", "node_url", "88.118.8/PART-1"),
    ],
)
def test_a_handle_or_a_node_url_leads_to_the_handle(text: str, kind: str, handle: str) -> None:
    scanned = understand(text)

    assert (scanned.kind, [str(h) for h in scanned.handles]) == (kind, [handle])
    assert scanned.fields == ()


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("", "the text is empty"),
        ("\r\n", "the text is empty"),
        ("hello world", "not an ISO/IEC 15434 message"),
        ("hello world", "not a GS1 element string"),
        ("hello world", "not a handle"),
        ("https://example.com/", "neither a GS1 Digital Link URI"),
        ("https://example.com/about/us", "neither a GS1 Digital Link URI"),
        ("ftp://example.com/88.118.8/X", "not a URL"),
        ("88.118.8/" + "X" * 8_000, "at most 8,000 characters"),
    ],
)
def test_what_is_not_understood_says_what_was_tried(text: str, said: str) -> None:
    with pytest.raises(ScanError) as refused:
        understand(text)

    assert said in refused.value.message


# -- properties of the ISO/IEC 15434 parser ----------------------------------------------------------------

_NOT_CONTROL = st.characters(blacklist_characters=RS + GS + EOT, blacklist_categories=("Cs",))
_NOT_VISIBLE = st.characters(blacklist_characters=RS + GS + EOT + "<{^␞␝␄", blacklist_categories=("Cs",))
identifiers = st.from_regex(r"\A[0-9]{0,3}[A-Z]\Z")


def messages(chars: st.SearchStrategy[str]) -> st.SearchStrategy[Message]:
    elements = st.builds(DataElement, identifiers, st.text(chars, max_size=30))
    format06 = st.lists(elements, min_size=1, max_size=8).map(
        lambda found: Envelope("06", GS.join(e.identifier + e.value for e in found), tuple(found))
    )
    gs1_data = st.text(st.one_of(chars, st.just(GS)), min_size=1, max_size=40)
    format05 = gs1_data.map(lambda data: Envelope("05", data))
    return st.lists(st.one_of(format06, format05), min_size=1, max_size=3).map(lambda e: Message(tuple(e)))


@given(messages(_NOT_CONTROL))
def test_a_message_survives_encoding_and_parsing(message: Message) -> None:
    assert iso15434.parse(iso15434.encode(message)) == message


@given(messages(_NOT_VISIBLE), st.sampled_from(["pictures", "angle", "braces", "caret"]))
def test_a_message_survives_each_visible_notation(message: Message, notation: iso15434.Notation) -> None:
    assert iso15434.parse(iso15434.encode(message, notation)) == message


@given(messages(_NOT_CONTROL), st.data())
def test_a_message_cut_short_is_refused_where_it_ends(message: Message, data: st.DataObject) -> None:
    text = iso15434.encode(message)
    cut = data.draw(st.integers(0, len(text) - 1))

    with pytest.raises(EnvelopeError) as refused:
        iso15434.parse(text[:cut])

    assert 0 <= refused.value.position <= cut


_GARBAGE = st.text(st.sampled_from([RS, GS, EOT, "[", ")", ">", "0", "5", "6", "P", "1", "␞", "<", "^", "x"]))


@given(st.one_of(_GARBAGE.map(lambda t: "[)>" + t), st.text(max_size=60)))
def test_garbage_raises_nothing_but_the_parsers_own_error(text: str) -> None:
    with contextlib.suppress(EnvelopeError):
        iso15434.parse(text)
    with contextlib.suppress(ScanError):
        understand(text, "88.999")
