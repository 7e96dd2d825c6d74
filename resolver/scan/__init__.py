"""Label scanning: what a scanner delivers (ISO/IEC 15434 messages, GS1 element strings and Digital Link URIs,
a node's URL, a handle) understood, with no I/O. `understand(text, node_prefix)` is the one entry point."""

from .classify import Field, Kind, Scanned, understand
from .errors import CheckDigitError, EnvelopeError, ScanError

__all__ = ["CheckDigitError", "EnvelopeError", "Field", "Kind", "ScanError", "Scanned", "understand"]
