"""Principals (`index:handle`) and the splitting of Basic credentials into user name and secret."""

from __future__ import annotations

import contextlib
import unicodedata
from urllib.parse import quote

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from registry import AuthenticationFailed, Handle, Naming, Principal, Reference
from registry.principals import split_basic_credentials
from registry.values import MAX_INDEX

ACME_KEYS = Handle("0.NA", "88.999.1")

_SUFFIX_CHARACTERS = st.characters(
    exclude_categories=["Cc", "Cf", "Cs", "Zl", "Zp"], exclude_characters=":\ufffd"
)
handles = st.builds(
    lambda prefix, suffix: Handle.parse(f"{prefix}/{suffix}"),
    st.sampled_from(["88.999.1", "0.NA"]),
    st.sampled_from(["88.999.1", "ALICE", "ops.team"]),
) | st.builds(
    lambda suffix: Handle("88.999.1", suffix),
    # No ':' so that the lenient raw form stays unambiguous; nothing a handle may not hold (controls, format
    # and separator characters, U+FFFD), and in NFC, as the parser keeps suffixes.
    st.text(_SUFFIX_CHARACTERS, min_size=1, max_size=40).map(lambda text: unicodedata.normalize("NFC", text)),
)
indexes = st.integers(min_value=1, max_value=MAX_INDEX)
secrets = st.text(st.characters(exclude_categories=["Cs"]), max_size=30)


# --- Principal.parse --------------------------------------------------------------------------------


def test_an_index_and_a_handle_make_a_principal() -> None:
    principal = Principal.parse("300:0.NA/88.999.1")

    assert principal == Principal(ACME_KEYS, 300)
    assert str(principal) == "300:0.NA/88.999.1"


@pytest.mark.parametrize("username", ["300%3A0.NA/88.999.1", "300%3a0.NA/88.999.1", "300%3A0.NA%2F88.999.1"])
def test_a_percent_encoded_colon_is_what_clients_send(username: str) -> None:
    assert Principal.parse(username) == Principal(ACME_KEYS, 300)


def test_a_bare_handle_means_index_300() -> None:
    assert Principal.parse("0.NA/88.999.1") == Principal(ACME_KEYS, 300)


def test_another_index_is_kept() -> None:
    assert Principal.parse("301:0.na/88.999.1") == Principal(ACME_KEYS, 301)


def test_a_bare_handle_whose_suffix_holds_a_colon_keeps_it() -> None:
    assert Principal.parse("88.999.1/ops:night") == Principal(Handle("88.999.1", "ops:night"), 300)


@pytest.mark.parametrize(
    "username",
    [
        pytest.param("", id="empty"),
        pytest.param("300:", id="index only"),
        pytest.param("300:0.NA", id="no suffix"),
        pytest.param("300%3A", id="encoded index only"),
        pytest.param("admin", id="a name"),
        pytest.param("300:0.NA/not a prefix", id="bad prefix handle"),
        pytest.param("300:88.999.1/bad\x00suffix", id="control character"),
        # str.isdigit() is true for these, but int() refuses them.
        pytest.param("²:0.NA/88.999.1", id="superscript index"),
        pytest.param("9" * 5000 + ":0.NA/88.999.1", id="5000-digit index"),
    ],
)
def test_a_user_name_that_is_not_a_principal_fails_authentication(username: str) -> None:
    # Authentication errors become 401s; anything else would be a 500 on a bad login.
    with pytest.raises(AuthenticationFailed):
        Principal.parse(username)


@given(handles, indexes)
def test_the_percent_encoded_form_parses_back_to_the_principal(handle: Handle, index: int) -> None:
    username = f"{index}%3A{quote(str(handle), safe='/')}"

    assert Principal.parse(username) == Principal(handle, index)


@given(st.text(max_size=60))
@example("²:0.NA/88.999.1")
def test_parsing_any_user_name_either_succeeds_or_fails_authentication(username: str) -> None:
    with contextlib.suppress(AuthenticationFailed):
        Principal.parse(username)


# --- split_basic_credentials ------------------------------------------------------------------------


def test_credentials_with_an_encoded_colon_split_at_the_first_raw_colon() -> None:
    assert split_basic_credentials("300%3A0.NA/88.999.1:secret") == ("300%3A0.NA/88.999.1", "secret")


def test_credentials_with_a_raw_index_colon_are_accepted_leniently() -> None:
    assert split_basic_credentials("300:0.NA/88.999.1:secret") == ("300:0.NA/88.999.1", "secret")


@pytest.mark.parametrize(
    ("decoded", "expected"),
    [
        ("300%3A0.NA/88.999.1:se:cr:et", ("300%3A0.NA/88.999.1", "se:cr:et")),
        ("300:0.NA/88.999.1:se:cr:et", ("300:0.NA/88.999.1", "se:cr:et")),
        ("0.NA/88.999.1:se:cret", ("0.NA/88.999.1", "se:cret")),
        ("300%3A0.NA/88.999.1::", ("300%3A0.NA/88.999.1", ":")),
    ],
)
def test_a_secret_may_contain_colons(decoded: str, expected: tuple[str, str]) -> None:
    assert split_basic_credentials(decoded) == expected


def test_an_empty_secret_is_passed_on_for_the_password_check_to_refuse() -> None:
    assert split_basic_credentials("300%3A0.NA/88.999.1:") == ("300%3A0.NA/88.999.1", "")


@pytest.mark.parametrize("decoded", ["", "300%3A0.NA/88.999.1", "secret"])
def test_credentials_without_a_colon_fail_authentication(decoded: str) -> None:
    with pytest.raises(AuthenticationFailed):
        split_basic_credentials(decoded)


@given(handles, indexes, secrets)
def test_both_user_name_forms_give_the_same_principal_and_secret(
    handle: Handle, index: int, secret: str
) -> None:
    encoded_user, encoded_secret = split_basic_credentials(
        f"{index}%3A{quote(str(handle), safe='/')}:{secret}"
    )
    raw_user, raw_secret = split_basic_credentials(f"{index}:{handle}:{secret}")

    assert encoded_secret == raw_secret == secret
    assert Principal.parse(encoded_user) == Principal(handle, index)
    # The raw form is not percent-encoded, so only a handle without '%' survives URL-decoding unchanged.
    if "%" not in str(handle):
        assert Principal.parse(raw_user) == Principal(handle, index)


# --- Principal.matches ------------------------------------------------------------------------------

# The node's rules for telling handles apart (registry.naming): ASCII case ignored, the default, or kept.
IGNORING_CASE, TELLING_CASE = Naming(), Naming(case_sensitive=True)
namings = pytest.mark.parametrize("naming", [IGNORING_CASE, TELLING_CASE], ids=["insensitive", "sensitive"])


@namings
def test_a_reference_to_the_same_handle_and_index_names_the_principal(naming: Naming) -> None:
    assert Principal(ACME_KEYS, 300).matches(Reference("0.NA/88.999.1", 300), naming)


@namings
def test_a_reference_with_index_0_names_any_index_of_the_handle(naming: Naming) -> None:
    assert Principal(ACME_KEYS, 301).matches(Reference("0.NA/88.999.1", 0), naming)


@namings
def test_a_reference_to_another_index_does_not_name_the_principal(naming: Naming) -> None:
    assert not Principal(ACME_KEYS, 300).matches(Reference("0.NA/88.999.1", 301), naming)


@namings
@pytest.mark.parametrize("handle", ["0.NA/88.999.2", "0.NA/88.999.1.7", "88.999.1/ADMIN"])
def test_a_reference_to_another_handle_does_not_name_the_principal(naming: Naming, handle: str) -> None:
    assert not Principal(ACME_KEYS, 300).matches(Reference(handle, 0), naming)


@namings
def test_a_reference_written_in_lower_case_names_the_prefix_handle(naming: Naming) -> None:
    # Prefixes are case-insensitive whatever the node's rule, and a stored reference keeps the case its
    # author wrote.
    assert Principal(ACME_KEYS, 300).matches(Reference("0.na/88.999.1", 300), naming)


@namings
def test_a_reference_that_is_not_a_handle_names_nobody(naming: Naming) -> None:
    assert not Principal(ACME_KEYS, 300).matches(Reference("not a prefix/ADMIN", 300), naming)


def test_a_reference_to_a_suffix_differing_only_in_case_names_the_same_principal_by_default() -> None:
    # Changed by the redesign: a node ignores ASCII case by default, so 88.999.1/alice and 88.999.1/ALICE
    # are one handle with one key, and a grant to either is a grant to its holder.
    alice = Principal(Handle.parse("88.999.1/alice"), 300)

    assert alice.matches(Reference("88.999.1/ALICE", 300), IGNORING_CASE)


def test_a_reference_to_a_suffix_differing_only_in_case_names_another_principal_when_case_counts() -> None:
    # On a node that tells case apart, 88.999.1/alice and 88.999.1/ALICE are two handles with their own
    # keys, so the holder of one must not get the rights granted to the other.
    alice = Principal(Handle.parse("88.999.1/alice"), 300)

    assert alice.matches(Reference("88.999.1/alice", 300), TELLING_CASE)
    assert not alice.matches(Reference("88.999.1/ALICE", 300), TELLING_CASE)


def test_only_ascii_letters_fold_when_matching() -> None:
    # As in the Handle System: `ß` is not `SS`, so a grant to 88.999.1/STRASSE is not one to straße.
    strasse = Principal(Handle.parse("88.999.1/straße"), 300)

    assert strasse.matches(Reference("88.999.1/STRAßE", 300), IGNORING_CASE)
    assert not strasse.matches(Reference("88.999.1/STRASSE", 300), IGNORING_CASE)
