"""How the node tells handles apart: the storage key of a handle, the one place where case is decided.

The Handle.Net server, as it is usually set up, treats ASCII case as insignificant: `88.118.8/part-1` finds
`PART-1`, and creating `88.118.8/Part-1` beside it is a conflict. idnode does the same by default; a node set
up with `IDNODE_CASE_SENSITIVE=yes` tells suffixes apart by case instead. Either way the handle is kept as
written for display; only its key (storage, caches, uniqueness, the journal) is folded. Only ASCII letters
fold, as in the Handle System: `ß` stays `ß`, not `SS`.
"""

from __future__ import annotations

from dataclasses import dataclass

from .handle import Handle


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
        if self.case_sensitive:
            return f"{handle.prefix}/{handle.suffix}"
        # The prefix is upper-cased already; only the suffix needs folding.
        suffix = handle.suffix
        return f"{handle.prefix}/{suffix.upper() if suffix.isascii() else ascii_upper(suffix)}"

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
