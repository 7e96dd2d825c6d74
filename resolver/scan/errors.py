"""What a scan that cannot be understood raises.

ScanError                 the text is none of the kinds a scanner delivers (or is broken)
 ├── EnvelopeError        an ISO/IEC 15434 message that is truncated or malformed (with its position)
 └── CheckDigitError      a GS1 key whose check digit is wrong (with the field it is in)
"""

from __future__ import annotations


class ScanError(Exception):
    """The scanned text could not be understood."""

    def __init__(self, message: str | None = None) -> None:
        self.message = message or (type(self).__doc__ or "").strip()
        super().__init__(self.message)


class EnvelopeError(ScanError):
    """A malformed ISO/IEC 15434 message."""

    def __init__(self, message: str, position: int) -> None:
        self.position = position
        super().__init__(f"ISO/IEC 15434: {message} (at position {position})")


class CheckDigitError(ScanError):
    """A check digit is wrong."""

    def __init__(self, field: str, detail: str) -> None:
        self.field = field
        super().__init__(f"check digit wrong in {field}: {detail}")
