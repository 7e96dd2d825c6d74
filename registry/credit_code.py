"""The unified social credit code (统一社会信用代码) of GB 32100-2015: 18 characters, the last a check."""

from __future__ import annotations

from .errors import InvalidEnterprise

# The code's alphabet: digits and capitals without I, O, Z, S and V, each worth its position.
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_WORTH = {ch: n for n, ch in enumerate(ALPHABET)}
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def check_character(first17: str) -> str:
    """The check character for the first 17 characters of a code."""
    total = sum(_WORTH[ch] * weight for ch, weight in zip(first17, _WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def validate_credit_code(code: str) -> str:
    """Return the code upper-cased, or raise `InvalidEnterprise` saying what is wrong with it."""
    code = code.strip().upper()
    if len(code) != 18:
        raise InvalidEnterprise(f"a unified social credit code has 18 characters, not {len(code)}")
    bad = sorted({ch for ch in code if ch not in _WORTH})
    if bad:
        raise InvalidEnterprise(f"a unified social credit code cannot hold {''.join(bad)!r}")
    expected = check_character(code[:17])
    if code[17] != expected:
        raise InvalidEnterprise(f"the check character of {code} is wrong (expected {expected}, per GB 32100)")
    return code
