"""What a scanner delivered: which kind of text it is, its fields by name, the keys they give, and the handles
it leads to."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import unquote, urlsplit

from registry import Handle, InvalidHandle

from . import gs1, iso15434
from .data_identifiers import name_of
from .errors import CheckDigitError, ScanError

Kind = Literal["iso15434", "gs1", "gs1_digital_link", "node_url", "handle"]

# Data identifiers whose values are keys (or key qualifiers), under the names the alternate keys use.
DI_KEYS = {
    "P": "partNumber",
    "1P": "supplierPartNumber",
    "S": "serial",
    "25S": "uii",
    "T": "customerLot",
    "1T": "lot",
    "J": "licensePlate",
    "1J": "licensePlate",
    "2J": "licensePlate",
    "3J": "licensePlate",
    "4J": "licensePlate",
    "5J": "licensePlate",
    "6J": "licensePlate",
    "V": "supplier",
    "I": "vin",
}
_SYMBOLOGY = re.compile(r"\][A-Za-z][0-9A-Za-z]")
_DOTTED_PREFIX = re.compile(r"[0-9A-Za-z_-]+(?:\.[0-9A-Za-z_-]+)+/")
_HANDLE_PATH = "/api/handles/"
# What scanners append (a suffix of Enter or Tab) and people paste around; not the control characters of GS1
# and ISO/IEC 15434, which `str.strip()` would take too.
_AROUND = " \t\r\n"
# The most a 2D symbol holds (a QR code: 7,089 digits; Data Matrix 3,116), with room for visible forms.
MAX_TEXT = 8_000


@dataclass(frozen=True, slots=True)
class Field:
    """One field of a scan: an application identifier (`ai`) or a data identifier (`di`), named."""

    scheme: Literal["ai", "di"]
    code: str
    name: str
    value: str

    def as_json(self) -> dict[str, str]:
        return {self.scheme: self.code, "name": self.name, "value": self.value}


@dataclass(frozen=True, slots=True)
class Scanned:
    """What a scan was understood as. `keys`: the identifiers it carries (GTIN, lot, serial, SSCC, part
    number, license plate, …), first occurrence of each; `handles`: the handles it names."""

    kind: Kind
    fields: tuple[Field, ...] = ()
    keys: Mapping[str, str] = field(default_factory=dict)
    handles: tuple[Handle, ...] = ()


def understand(text: str, node_prefix: str | None = None) -> Scanned:
    """What `text`, as a scanner delivered it, is. A field whose value is a handle under `node_prefix` (a
    label carrying the 88.x identifier in a company-internal AI or a data identifier) leads to that handle.
    Raises `ScanError` saying what was tried."""
    if len(text) > MAX_TEXT:
        raise ScanError(f"a scanned text is at most {MAX_TEXT:,} characters, not {len(text):,}")
    text = text.strip(_AROUND)
    if not text:
        raise ScanError("nothing was scanned: the text is empty")
    if _SYMBOLOGY.match(text):
        if text[:3] in gs1.GS1_SYMBOLOGIES:
            return _scanned("gs1", _ai_fields(gs1.element_string(text)), node_prefix)
        text = text[3:]  # a symbol of another kind: its data is what follows
    if iso15434.is_message(text):
        return _scanned("iso15434", _message_fields(iso15434.parse(text)), node_prefix)
    if text[:8].lower().startswith(("http://", "https://")):
        return _url(text, node_prefix)
    if text.startswith("(") or (text[:1].isdigit() and not _DOTTED_PREFIX.match(text)):
        try:
            return _scanned("gs1", _ai_fields(gs1.element_string(text)), node_prefix)
        except CheckDigitError:
            raise
        except ScanError as exc:
            if "/" not in text:
                raise
            gs1_reason = exc.message  # perhaps a handle with an undotted prefix
    else:
        gs1_reason = "GS1: an element string begins with an application identifier's digits"
    try:
        return Scanned("handle", handles=(Handle.parse(text),))
    except InvalidHandle as exc:
        raise ScanError(
            "not understood: it is not an ISO/IEC 15434 message (which begins with '[)>'), not a URL "
            f"(http:// or https://), not a GS1 element string ({gs1_reason}) and not a handle "
            f"({exc.message})"
        ) from None


def _url(text: str, node_prefix: str | None) -> Scanned:
    """A node's URL of a handle (`…/api/handles/88.118.8/PART-1`, `…/88.118.8/PART-1`) or a GS1 Digital Link
    URI (`https://id.gs1.org/01/09506000134352/21/X`)."""
    try:
        path = urlsplit(text).path
    except ValueError as exc:
        raise ScanError(f"not a URL: {exc}") from None
    if path.startswith(_HANDLE_PATH):
        return _node_url(unquote(path[len(_HANDLE_PATH) :]))
    try:
        return _scanned("gs1_digital_link", _ai_fields(gs1.digital_link(text)), node_prefix)
    except CheckDigitError:
        raise  # a GS1 Digital Link URI, with a wrong key
    except ScanError as exc:
        link_reason = exc.message
    try:
        if not _DOTTED_PREFIX.match(unquote(path[1:])):
            raise ScanError(f"the URL's path {path!r} does not begin with a handle's prefix (88.118.8/…)")
        return _node_url(unquote(path[1:]))
    except ScanError as exc:
        raise ScanError(
            f"a URL, but neither a GS1 Digital Link URI ({link_reason}) nor a node's URL of a handle "
            f"(…/api/handles/prefix/suffix or …/prefix/suffix: {exc.message})"
        ) from None


def _node_url(path: str) -> Scanned:
    try:
        return Scanned("node_url", handles=(Handle.parse(path),))
    except InvalidHandle as exc:
        raise ScanError(f"the URL's path {path!r} is not a handle: {exc.message}") from None


def _ai_fields(elements: Iterable[gs1.Element]) -> list[Field]:
    return [Field("ai", element.ai, element.name, element.value) for element in elements]


def _message_fields(message: iso15434.Message) -> list[Field]:
    fields: list[Field] = []
    for envelope in message.envelopes:
        if envelope.format == "05":
            fields += _ai_fields(gs1.element_string(envelope.data))
        else:
            fields += [Field("di", e.identifier, name_of(e.identifier), e.value) for e in envelope.elements]
    return fields


def _scanned(kind: Kind, fields: list[Field], node_prefix: str | None) -> Scanned:
    keys: dict[str, str] = {}
    for found in fields:
        key = (gs1.KEYS if found.scheme == "ai" else DI_KEYS).get(found.code)
        if key is not None:
            keys.setdefault(key, found.value)
    return Scanned(kind, tuple(fields), keys, _handles_in(fields, node_prefix))


def _handles_in(fields: Iterable[Field], node_prefix: str | None) -> tuple[Handle, ...]:
    if not node_prefix:
        return ()
    ours = node_prefix.upper()
    found: list[Handle] = []
    for each in fields:
        if "/" not in each.value:
            continue
        try:
            handle = Handle.parse(each.value)
        except InvalidHandle:
            continue
        if (handle.prefix == ours or handle.prefix.startswith(ours + ".")) and handle not in found:
            found.append(handle)
    return tuple(found)
