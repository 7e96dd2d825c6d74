"""Handles: `prefix/suffix`, parsed once into an immutable value.

The prefix is case-insensitive and kept upper-cased; the suffix is kept as written (whether its case tells
handles apart is the node's rule: `registry.naming`). A handle is at most 255
characters, its prefix at most 64, and neither may hold control characters. A prefix is made of dot-separated
segments of ASCII letters, digits, `-` and `_` (`88.118.8`, `86.100`, `0.NA`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from .errors import InvalidHandle

MAX_HANDLE_LENGTH = 255
MAX_PREFIX_LENGTH = 64
NA_PREFIX = "0.NA"

_PREFIX = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\Z")
# C0, DEL and C1 controls: a quick test before the slower per-character category check.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _has_forbidden_characters(text: str) -> bool:
    if _CONTROL.search(text):
        return True
    if text.isascii():
        return False
    # Lone surrogates cannot be encoded as UTF-8; other format/control categories are invisible traps.
    return any(unicodedata.category(ch) in ("Cc", "Cs") for ch in text)


# Prefixes already checked, as the hot path meets the same few hundred again and again (bounded: a flood of
# made-up prefixes empties it rather than growing it).
_CHECKED: dict[str, str] = {}
_CHECKED_MAX = 4096


def _checked_prefix(text: str) -> str:
    found = _CHECKED.get(text)
    if found is None:
        found = normalise_prefix(text)
        if len(_CHECKED) >= _CHECKED_MAX:
            _CHECKED.clear()
        _CHECKED[text] = found
    return found


def normalise_prefix(text: str) -> str:
    """Validate a prefix (`88.118.8`) and return it upper-cased."""
    if not text:
        raise InvalidHandle("the prefix is empty")
    if len(text) > MAX_PREFIX_LENGTH:
        raise InvalidHandle(f"the prefix is longer than {MAX_PREFIX_LENGTH} characters")
    if not _PREFIX.match(text):
        raise InvalidHandle(f"the prefix {text!r} is not dot-separated letters, digits, '-' or '_'")
    return text.upper()


def is_under(prefix: str, parent: str) -> bool:
    """True when `prefix` is `parent` or one of its derived prefixes (`88.118.8` under `88.118`)."""
    return prefix == parent or prefix.startswith(parent + ".")


@dataclass(frozen=True, slots=True)
class Handle:
    """A validated, normalised handle."""

    prefix: str
    suffix: str

    @classmethod
    def parse(cls, text: str) -> Handle:
        """Parse `prefix/suffix`, raising `InvalidHandle` with the reason when it is not one."""
        if not isinstance(text, str):
            raise InvalidHandle("a handle must be text")
        if len(text) > MAX_HANDLE_LENGTH:
            raise InvalidHandle(f"the handle is longer than {MAX_HANDLE_LENGTH} characters")
        prefix, slash, suffix = text.partition("/")
        if not slash:
            raise InvalidHandle("a handle has the form prefix/suffix", handle=text)
        if not suffix:
            raise InvalidHandle("the suffix is empty", handle=text)
        if _has_forbidden_characters(suffix):
            raise InvalidHandle("the suffix holds control characters", handle=text)
        prefix = _checked_prefix(prefix)
        if prefix == NA_PREFIX:
            # The suffix of a prefix handle is itself a prefix, so it is case-insensitive too.
            suffix = normalise_prefix(suffix)
        return cls(prefix, suffix)

    @classmethod
    def for_prefix(cls, prefix: str) -> Handle:
        """The prefix handle `0.NA/<prefix>` that carries a prefix's administrators and keys."""
        return cls(NA_PREFIX, normalise_prefix(prefix))

    @property
    def is_prefix_handle(self) -> bool:
        return self.prefix == NA_PREFIX

    @property
    def governing_prefix(self) -> str:
        """The prefix whose administrators govern this handle (`88.118.8` for both
        `88.118.8/P-1` and `0.NA/88.118.8`)."""
        return self.suffix if self.is_prefix_handle else self.prefix

    def __str__(self) -> str:
        return f"{self.prefix}/{self.suffix}"
