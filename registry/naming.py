"""How the node tells handles apart: the storage key of a handle, the one place where case and width are
decided.

The Handle.Net server, as it is usually set up, treats ASCII case as insignificant: `88.118.8/part-1` finds
`PART-1`, and creating `88.118.8/Part-1` beside it is a conflict. idnode does the same by default; a node set
up with `IDNODE_CASE_SENSITIVE=yes` tells suffixes apart by case instead. Either way the handle is kept as
written for display; only its key (storage, caches, uniqueness, the journal) is folded. Only ASCII letters
fold, as in the Handle System: `ß` stays `ß`, not `SS`.

Width folds too, whatever the case rule: the full-width forms that Chinese, Japanese and Korean input
methods type (`ＰＡＲＴ－００１`, the ideographic space) and the half-width katakana and hangul are keyed as
their ordinary forms (their `<wide>` and `<narrow>` decompositions in the Unicode data, PRECIS's width
mapping, RFC 8264 §9.3), so that a look-alike finds the record and cannot be registered beside it. This is
the part of NFKC that matters for look-alikes, without NFKC's other rewrites (`registry.handle` says why the
handle itself is NFC).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from .handle import Handle


def _width_table() -> dict[int, str]:
    # Every <wide> and <narrow> decomposition lies in U+3000 or the Halfwidth and Fullwidth Forms block.
    table = {}
    for code in (0x3000, *range(0xFF00, 0xFFF0)):
        tag, _, mapping = unicodedata.decomposition(chr(code)).partition(" ")
        if tag in ("<wide>", "<narrow>"):
            table[code] = "".join(chr(int(point, 16)) for point in mapping.split())
    return table


_WIDTH = _width_table()


def fold_width(text: str) -> str:
    """`text` with its full-width and half-width forms as their ordinary ones."""
    return text.translate(_WIDTH)


def nfc(text: str) -> str:
    """`text` in NFC. A fold can take text out of it: ｶﾞ folds to カ + U+3099, which NFC composes to ガ, and
    `i` + U+0307 upper-cases to `I` + U+0307, which composes to `İ` (as the parser keeps `I` + U+0307)."""
    return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)


def ascii_upper(text: str) -> str:
    """`text` with its ASCII letters upper-cased and every other character as it was."""
    if text.isascii():
        return text.upper()
    return text.encode("utf-8", "surrogatepass").upper().decode("utf-8", "surrogatepass")


@dataclass(frozen=True, slots=True)
class Naming:
    """The node's rule for handle keys; `case_sensitive` is fixed when the node is set up."""

    case_sensitive: bool = False

    def key(self, handle: Handle) -> str:
        """The key `handle` is stored, cached and journalled under."""
        # The prefix is upper-cased already; only the suffix needs folding.
        suffix = handle.suffix
        if suffix.isascii():
            return f"{handle.prefix}/{suffix if self.case_sensitive else suffix.upper()}"
        suffix = fold_width(suffix)
        return f"{handle.prefix}/{nfc(suffix if self.case_sensitive else ascii_upper(suffix))}"

    def key_of(self, text: str) -> str:
        """The key of the handle `text` (parsed, so a malformed one raises `InvalidHandle`)."""
        return self.key(Handle.parse(text))

    @property
    def label(self) -> str:
        """How the node table records the rule."""
        return "sensitive" if self.case_sensitive else "insensitive"

    @classmethod
    def from_label(cls, label: str) -> Naming:
        return cls(case_sensitive=label == "sensitive")
