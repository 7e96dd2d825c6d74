"""The unified social credit code (GB 32100-2015): 18 characters, the last a check character."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry import InvalidEnterprise, validate_credit_code
from registry.credit_code import ALPHABET, check_character

VALID = ["91420700MA4K8XQ3T3", "91350100M000100Y43", "91110000802100433B"]

first17s = st.text(ALPHABET, min_size=17, max_size=17)


@pytest.mark.parametrize("code", VALID)
def test_real_codes_are_valid(code: str) -> None:
    assert validate_credit_code(code) == code


@pytest.mark.parametrize("code", VALID)
def test_lower_case_is_accepted_and_upper_cased(code: str) -> None:
    assert validate_credit_code(code.lower()) == code


def test_surrounding_spaces_are_ignored() -> None:
    # Codes are often pasted from documents with a trailing space or newline.
    assert validate_credit_code(" 91420700MA4K8XQ3T3\n") == "91420700MA4K8XQ3T3"


def test_a_wrong_check_character_is_rejected_naming_the_expected_one() -> None:
    with pytest.raises(InvalidEnterprise, match=r"expected 3\b"):
        validate_credit_code("91420700MA4K8XQ3T4")


def test_a_mistyped_character_is_caught_by_the_check() -> None:
    with pytest.raises(InvalidEnterprise, match="check character"):
        validate_credit_code("91420700MA4K8XQ4T3")


@pytest.mark.parametrize("code", ["", "91420700MA4K8XQ3T", "91420700MA4K8XQ3T33"], ids=["empty", "17", "19"])
def test_a_code_that_is_not_18_characters_long_is_rejected(code: str) -> None:
    with pytest.raises(InvalidEnterprise, match="18 characters"):
        validate_credit_code(code)


@pytest.mark.parametrize("letter", ["I", "O", "Z", "S", "V", "i", "o"])
def test_letters_outside_the_alphabet_are_rejected_by_name(letter: str) -> None:
    # I, O, Z, S and V are left out because they are easily confused with 1, 0, 2, 5 and U.
    code = "91420700M" + letter + "4K8XQ3T3"

    with pytest.raises(InvalidEnterprise, match=repr(letter.upper())):
        validate_credit_code(code)


@pytest.mark.parametrize("char", ["-", " ", "９", "零"])
def test_other_characters_are_rejected(char: str) -> None:
    with pytest.raises(InvalidEnterprise):
        validate_credit_code("91420700M" + char + "4K8XQ3T3")


@given(first17s)
def test_seventeen_characters_and_their_check_character_make_a_valid_code(first17: str) -> None:
    code = first17 + check_character(first17)

    assert validate_credit_code(code) == code


@given(first17s, st.integers(min_value=1, max_value=len(ALPHABET) - 1))
def test_any_other_last_character_is_rejected(first17: str, shift: int) -> None:
    right = ALPHABET.index(check_character(first17))
    wrong = ALPHABET[(right + shift) % len(ALPHABET)]

    with pytest.raises(InvalidEnterprise, match="check character"):
        validate_credit_code(first17 + wrong)
