"""Handles: `prefix/suffix`, parsed once into an immutable value.

The prefix is case-insensitive and kept upper-cased; the suffix is kept as written (whether its case tells
handles apart is the node's rule: `registry.naming`). A handle is at most 255 characters, its prefix at most
64. A prefix is made of dot-separated segments of ASCII letters, digits, `-` and `_` (`88.118.8`, `86.100`,
`0.NA`).

Unicode. The Handle System carries handles as UTF-8 and compares them octet by octet, ASCII case aside
(RFC 3651 §2.1.3-2.1.4); the Handle.Net server does no Unicode normalisation at all (its
`net.handle.hdllib.Util.encodeString` is a plain UTF-8 encoding and `Util.upperCase` folds the bytes a-z
only). Left at that, `é` typed as one code point and as `e` + U+0301 are two handles that look the same. So
every handle is parsed here, the one place, the same way on every path (Handle REST, SNMS, batches, the CLI
through them):

- It is text, which means valid UTF-8 where it arrives as bytes: a front end decodes strictly, and U+FFFD,
  the replacement character a lenient decoder leaves of bytes that are not UTF-8, is refused here too, so
  that a lossy decoding anywhere cannot store a handle other than the one sent.
- The suffix is normalised to **NFC**, Unicode's canonical composition. NFC joins only spellings that are
  canonically equivalent, which every font draws alike; it never changes how a handle looks, and because
  nearly every system sends NFC text, the handle stored is, octet for octet, the one a Handle.Net server
  would store for the same input. NFKC is not used: it also rewrites characters that look and mean
  something else (`²`, `①`, `㎏`, `ﬁ`, `Ⅻ`), irreversibly changing the handle a user registered.
  The look-alikes NFKC would fold that matter on this node, the full-width forms Chinese input methods type
  (`ＰＡＲＴ－００１`), are folded in the handle's key instead (`registry.naming`), as ASCII case is: they
  find the record and cannot be registered beside it.
- Control, format and separator characters are refused: Cc (C0, DEL, C1), Cf (zero-width space U+200B and
  joiners, the bidi embeddings and overrides U+202A-U+202E and isolates U+2066-U+2069, U+FEFF, soft
  hyphen), Zl and Zp (line and paragraph separators), and Cs (lone surrogates, which are not UTF-8). They are
  invisible, or break line-based protocols and logs, or reorder what a reader sees.
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
# C0 and DEL: the only refused characters an ASCII suffix can hold.
_ASCII_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# NFC may shorten a text to a third (and lengthen it a little): longer input is refused before it is read.
_MAX_INPUT = 4 * MAX_HANDLE_LENGTH
REPLACEMENT_CHARACTER = "\ufffd"
_WHY_REFUSED = {
    "Cc": "a control character",
    "Cf": "an invisible format character (zero-width, joiner or bidi control)",
    "Cs": "a lone surrogate, which is not UTF-8",
    "Zl": "a line separator",
    "Zp": "a paragraph separator",
}


def _refused_character(text: str) -> str | None:
    """Why `text` (not ASCII) cannot be a suffix, naming the first refused character; None if it can."""
    for ch in text:
        why = _WHY_REFUSED.get(unicodedata.category(ch))
        if why is None and ch == REPLACEMENT_CHARACTER:
            why = "the replacement character, what is left of bytes that are not UTF-8"
        if why is not None:
            return f"the suffix holds {why} (U+{ord(ch):04X})"
    return None


def _unicode_suffix(suffix: str, text: str) -> str:
    """A suffix that is not ASCII, in NFC, or `InvalidHandle` when it holds a refused character."""
    if not unicodedata.is_normalized("NFC", suffix):
        suffix = unicodedata.normalize("NFC", suffix)
    problem = _refused_character(suffix)
    if problem is not None:
        raise InvalidHandle(problem, handle=text)
    return suffix


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
        if len(text) > _MAX_INPUT:
            raise InvalidHandle(f"the handle is longer than {MAX_HANDLE_LENGTH} characters")
        prefix, slash, suffix = text.partition("/")
        if not slash:
            raise InvalidHandle("a handle has the form prefix/suffix", handle=text)
        if not suffix:
            raise InvalidHandle("the suffix is empty", handle=text)
        if not suffix.isascii():
            suffix = _unicode_suffix(suffix, text)
        elif _ASCII_CONTROL.search(suffix):
            raise InvalidHandle("the suffix holds a control character", handle=text)
        if len(prefix) + 1 + len(suffix) > MAX_HANDLE_LENGTH:
            raise InvalidHandle(f"the handle is longer than {MAX_HANDLE_LENGTH} characters")
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
