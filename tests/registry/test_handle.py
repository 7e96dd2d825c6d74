"""Handles: parsing, normalisation, limits and the prefix helpers."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from registry import Handle, InvalidHandle, Naming, normalise_prefix
from registry.handle import is_under

PREFIX_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

segments = st.text(PREFIX_CHARS, min_size=1, max_size=8)
prefixes = (
    st.lists(segments, min_size=1, max_size=5)
    .map(".".join)
    .filter(lambda p: len(p) <= 64 and p.upper() != "0.NA")
)
# The categories a suffix may not hold: controls, format characters (zero-width, bidi), lone surrogates, line
# and paragraph separators; and U+FFFD, what a lenient decoder leaves of bytes that are not UTF-8.
REFUSED_CATEGORIES = ("Cc", "Cf", "Cs", "Zl", "Zp")
allowed = st.characters(exclude_categories=REFUSED_CATEGORIES, exclude_characters="\ufffd")
# Any text the parser takes, "/" among the rest, in NFC: the form the parser keeps.
suffixes = st.text(allowed, min_size=1, max_size=100).map(lambda s: unicodedata.normalize("NFC", s))
refused = st.characters(categories=REFUSED_CATEGORIES) | st.just("\ufffd")


def handle_texts() -> st.SearchStrategy[str]:
    """Valid handle text: ordinary handles and prefix handles, within the 255-character limit."""
    ordinary = st.builds(lambda p, s: f"{p}/{s}", prefixes, suffixes)
    prefix_handles = st.builds(lambda na, p: f"{na}/{p}", st.sampled_from(["0.NA", "0.na", "0.Na"]), prefixes)
    return (ordinary | prefix_handles).filter(lambda t: len(t) <= 255)


# --- parse: normalisation ---------------------------------------------------------------------------


def test_the_prefix_is_upper_cased_and_the_suffix_kept_as_written() -> None:
    handle = Handle.parse("88.999.1.abc/Part-0001a")

    assert handle == Handle("88.999.1.ABC", "Part-0001a")


def test_handles_differing_only_in_suffix_case_are_different() -> None:
    assert Handle.parse("88.999.1/part") != Handle.parse("88.999.1/PART")


def test_handles_differing_only_in_prefix_case_are_the_same() -> None:
    assert Handle.parse("88.999.1.ab/P") == Handle.parse("88.999.1.AB/P")


def test_the_suffix_of_a_prefix_handle_is_upper_cased_because_it_is_a_prefix() -> None:
    handle = Handle.parse("0.na/88.999.1.acme")

    assert handle == Handle("0.NA", "88.999.1.ACME")
    assert handle.is_prefix_handle


def test_the_suffix_of_a_prefix_handle_must_be_a_valid_prefix() -> None:
    with pytest.raises(InvalidHandle):
        Handle.parse("0.NA/not a prefix")


def test_the_suffix_may_contain_slashes() -> None:
    handle = Handle.parse("88.999.1/lot/2026/11")

    assert handle == Handle("88.999.1", "lot/2026/11")
    assert str(handle) == "88.999.1/lot/2026/11"


def test_the_suffix_may_hold_non_ascii_text() -> None:
    assert Handle.parse("88.999.1/零件-ä").suffix == "零件-ä"


# --- parse: what is rejected ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "control",
    ["\x00", "\t", "\n", "\r", "\x1b", "\x1f", "\x7f", "\x80", "\x85", "\x9f"],
    ids=lambda c: f"U+{ord(c):04X}",
)
def test_control_characters_in_the_suffix_are_rejected(control: str) -> None:
    # C0, DEL and C1 are invisible in logs and break line-based protocols.
    with pytest.raises(InvalidHandle, match="control"):
        Handle.parse(f"88.999.1/PART{control}0001")


@pytest.mark.parametrize("control", ["\x00", "\n", "\x7f", "\x85"], ids=lambda c: f"U+{ord(c):04X}")
def test_control_characters_in_the_prefix_are_rejected(control: str) -> None:
    with pytest.raises(InvalidHandle):
        Handle.parse(f"88.999{control}1/PART")


@pytest.mark.parametrize("surrogate", [chr(0xD800), chr(0xDBFF), chr(0xDC00), chr(0xDFFF)], ids=ascii)
def test_lone_surrogates_are_rejected(surrogate: str) -> None:
    # A lone surrogate cannot be encoded as UTF-8, so such a handle could never be stored or sent.
    with pytest.raises(InvalidHandle):
        Handle.parse(f"88.999.1/PART{surrogate}")


def test_a_handle_of_255_characters_is_accepted() -> None:
    text = "88.999.1/" + "x" * (255 - len("88.999.1/"))

    assert str(Handle.parse(text)) == text


def test_a_handle_longer_than_255_characters_is_rejected() -> None:
    with pytest.raises(InvalidHandle, match="255"):
        Handle.parse("88.999.1/" + "x" * (256 - len("88.999.1/")))


def test_a_prefix_of_64_characters_is_accepted() -> None:
    prefix = "88." + "9" * 61

    assert Handle.parse(f"{prefix}/P").prefix == prefix


def test_a_prefix_longer_than_64_characters_is_rejected() -> None:
    with pytest.raises(InvalidHandle, match="64"):
        Handle.parse("88." + "9" * 62 + "/P")


@pytest.mark.parametrize("text", ["/PART-0001", "88.999.1/", "/", "", "88.999.1"])
def test_an_empty_prefix_or_suffix_or_a_missing_slash_is_rejected(text: str) -> None:
    with pytest.raises(InvalidHandle):
        Handle.parse(text)


@pytest.mark.parametrize("prefix", ["88..1", ".88", "88.", "88 999", "88:999", "零.1", "88.999.1\n"])
def test_a_prefix_that_is_not_dot_separated_segments_is_rejected(prefix: str) -> None:
    with pytest.raises(InvalidHandle):
        Handle.parse(f"{prefix}/P")


def test_parsing_something_that_is_not_text_is_an_invalid_handle() -> None:
    # Handles arrive from JSON bodies, where a client may send a number or null.
    with pytest.raises(InvalidHandle):
        Handle.parse(88)  # type: ignore[arg-type]


# --- parse: properties ------------------------------------------------------------------------------


@given(handle_texts())
def test_the_text_form_parses_back_to_the_same_handle(text: str) -> None:
    handle = Handle.parse(text)

    assert Handle.parse(str(handle)) == handle


@given(prefixes, suffixes.filter(lambda s: len(s) <= 190))
def test_a_parsed_handle_has_the_upper_cased_prefix_and_the_suffix_as_written(
    prefix: str, suffix: str
) -> None:
    handle = Handle.parse(f"{prefix}/{suffix}")

    assert (handle.prefix, handle.suffix) == (prefix.upper(), suffix)
    assert not handle.is_prefix_handle


@given(st.text(max_size=300))
@example("88.999.1/\ud800")
@example("0.NA/")
@example("88.999.1/e\u0301")
@example("88.999.1/A\u200bB")
def test_parsing_any_text_either_succeeds_or_raises_invalid_handle(text: str) -> None:
    try:
        handle = Handle.parse(text)
    except InvalidHandle:
        return
    assert len(str(handle)) <= 255
    str(handle).encode("utf-8")  # a parsed handle can always be stored and sent
    assert unicodedata.is_normalized("NFC", handle.suffix)
    assert not any(unicodedata.category(c) in REFUSED_CATEGORIES or c == "\ufffd" for c in handle.suffix)


# --- parse: Unicode ----------------------------------------------------------------------------------------

FULL_WIDTH_OFFSET = 0xFEE0  # U+FF01..U+FF5E are U+0021..U+007E, full width


def full_width(text: str) -> str:
    return "".join(chr(ord(c) + FULL_WIDTH_OFFSET) if "!" <= c <= "~" else c for c in text)


@pytest.mark.parametrize(
    "character",
    [
        "\u200b",  # zero-width space
        "\u200c",  # zero-width non-joiner
        "\u200d",  # zero-width joiner
        "\u2060",  # word joiner
        "\ufeff",  # zero-width no-break space (BOM)
        "\u00ad",  # soft hyphen
        *(chr(c) for c in range(0x202A, 0x202F)),  # bidi embeddings and overrides
        *(chr(c) for c in range(0x2066, 0x206A)),  # bidi isolates
        "\u200e",  # left-to-right mark
        "\u2028",  # line separator
        "\u2029",  # paragraph separator
        "\ufffd",  # what a lenient decoder leaves of bytes that are not UTF-8
    ],
    ids=lambda c: f"U+{ord(c):04X}",
)
def test_invisible_format_and_bidi_characters_are_refused_by_name(character: str) -> None:
    with pytest.raises(InvalidHandle, match=f"U\\+{ord(character):04X}"):
        Handle.parse(f"88.999.1/PART{character}0001")


@given(suffixes, refused, suffixes)
def test_a_refused_character_anywhere_in_the_suffix_is_refused(before: str, bad: str, after: str) -> None:
    with pytest.raises(InvalidHandle):
        Handle.parse(f"88.999.1/{before[:100]}{bad}{after[:100]}")


def test_canonically_equivalent_spellings_are_one_handle_kept_in_nfc() -> None:
    composed, decomposed = Handle.parse("88.999.1/caf\u00e9"), Handle.parse("88.999.1/cafe\u0301")

    assert composed == decomposed
    assert decomposed.suffix == "caf\u00e9"


@given(suffixes.filter(lambda s: len(s) <= 60))
def test_every_normalisation_form_with_the_same_nfc_parses_to_the_same_handle(suffix: str) -> None:
    forms = {unicodedata.normalize(form, suffix) for form in ("NFC", "NFD")}

    assert {Handle.parse(f"88.999.1/{form}") for form in forms} == {Handle.parse(f"88.999.1/{suffix}")}


def test_the_length_limit_applies_to_the_nfc_form() -> None:
    # 130 decomposed é are 260 code points, 130 once composed: the handle is 139 characters long.
    assert len(str(Handle.parse("88.999.1/" + "e\u0301" * 130))) == 139


def test_compatibility_characters_are_not_folded_into_what_they_resemble() -> None:
    # NFKC would make ² a 2 and ① a 1: different characters, so different handles (see registry.handle).
    assert Handle.parse("88.999.1/M\u00b2") != Handle.parse("88.999.1/M2")
    assert Naming().key(Handle.parse("88.999.1/\u2460")) != Naming().key(Handle.parse("88.999.1/1"))


def test_a_full_width_handle_is_kept_as_written_and_keyed_as_its_ascii_form() -> None:
    written = Handle.parse("88.999.1/\uff30\uff21\uff32\uff34\uff0d\uff10\uff10\uff11")  # ＰＡＲＴ－００１

    assert written.suffix == "\uff30\uff21\uff32\uff34\uff0d\uff10\uff10\uff11"
    assert Naming().key(written) == Naming().key(Handle.parse("88.999.1/PART-001"))


@given(st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=100))
def test_full_width_look_alikes_share_the_key_of_their_ascii_form(text: str) -> None:
    for naming in (Naming(), Naming(case_sensitive=True)):
        assert naming.key(Handle.parse(f"88.999.1/{full_width(text)}")) == naming.key(
            Handle.parse(f"88.999.1/{text}")
        )


@given(suffixes)
def test_a_key_parses_back_to_a_handle_of_the_same_key(suffix: str) -> None:
    for naming in (Naming(), Naming(case_sensitive=True)):
        key = naming.key(Handle.parse(f"88.999.1/{suffix}"))
        assume(len(key) <= 255)

        assert naming.key_of(key) == key


# --- prefixes ---------------------------------------------------------------------------------------


def test_normalise_prefix_upper_cases() -> None:
    assert normalise_prefix("88.999.1.acme_x-y") == "88.999.1.ACME_X-Y"


@pytest.mark.parametrize("text", ["", "88/999", "88..999", "8" * 65, "88.999 "])
def test_normalise_prefix_rejects_what_is_not_a_prefix(text: str) -> None:
    with pytest.raises(InvalidHandle):
        normalise_prefix(text)


@pytest.mark.parametrize(
    ("prefix", "parent", "expected"),
    [
        ("88.999.1", "88.999.1", True),
        ("88.999.1", "88.999", True),
        ("88.999.1.7", "88.999", True),
        ("88.9991", "88.999", False),  # a longer segment is not a derived prefix
        ("88.999", "88.999.1", False),
        ("86.999.1", "88.999", False),
    ],
)
def test_is_under_accepts_the_prefix_itself_and_its_derived_prefixes_only(
    prefix: str, parent: str, expected: bool
) -> None:
    assert is_under(prefix, parent) is expected


def test_for_prefix_names_the_prefix_handle_normalised() -> None:
    handle = Handle.for_prefix("88.999.1.acme")

    assert handle == Handle("0.NA", "88.999.1.ACME")
    assert str(handle) == "0.NA/88.999.1.ACME"
    assert handle == Handle.parse("0.na/88.999.1.Acme")


def test_for_prefix_rejects_an_invalid_prefix() -> None:
    with pytest.raises(InvalidHandle):
        Handle.for_prefix("88.999/1")


def test_an_ordinary_handle_is_governed_by_its_prefix() -> None:
    assert Handle.parse("88.999.1/PART-0001").governing_prefix == "88.999.1"


def test_a_prefix_handle_is_governed_by_the_prefix_it_describes() -> None:
    # Otherwise every prefix handle would be governed by whoever administers 0.NA.
    assert Handle.parse("0.NA/88.999.1").governing_prefix == "88.999.1"
    assert Handle.for_prefix("88.999.1").governing_prefix == "88.999.1"
