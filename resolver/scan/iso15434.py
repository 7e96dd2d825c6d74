"""ISO/IEC 15434 messages, as 2D symbols on automotive and logistics labels carry them (VDA 4994, Odette GTL,
AIAG B-10): `[)>` RS, one or more format envelopes (`05` GS1 application identifiers, `06` ANSI MH10.8.2 data
identifiers), each `FF` GS data GS data … RS, and EOT.

The control characters are read as the bytes themselves or in the visible form the message's header uses (the
RS after `[)>`): control pictures (`␞ ␝ ␄`), `<RS> <GS> <EOT>`, `{RS} {GS} {EOT}`, or caret notation
(`^^ ^] ^D`), as scanners in keyboard mode and people pasting labels write them. A data element may be empty
but for its identifier (distributors' labels carry a bare `K` where the customer gave no order number).

The trailer RS EOT is required: a message without it cannot be told from one the scanner cut short (`Q12`
of a `Q120`), so it is refused as truncated. Errors give the position in the text as given."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from .data_identifiers import DATA_IDENTIFIER
from .errors import EnvelopeError

HEADER = "[)>"
RS, GS, EOT = "\x1e", "\x1d", "\x04"
FORMATS = {"05": "GS1 application identifiers", "06": "ANSI MH10.8.2 data identifiers"}

Notation = Literal["control", "pictures", "angle", "braces", "caret"]
# Each notation's forms of RS, GS and EOT.
_Fail = Callable[[str, int], EnvelopeError]
_FORMS: dict[Notation, tuple[str, str, str]] = {
    "control": (RS, GS, EOT),
    "pictures": ("␞", "␝", "␄"),
    "angle": ("<RS>", "<GS>", "<EOT>"),
    "braces": ("{RS}", "{GS}", "{EOT}"),
    "caret": ("^^", "^]", "^D"),
}


@dataclass(frozen=True, slots=True)
class DataElement:
    """A format 06 data element: its data identifier (`P`, `1J`, `25S`) and its data."""

    identifier: str
    value: str


@dataclass(frozen=True, slots=True)
class Envelope:
    """One format envelope: format `06` holds data elements, format `05` a GS1 element string (`data`, its
    FNC1 separators as GS)."""

    format: str
    data: str
    elements: tuple[DataElement, ...] = ()


@dataclass(frozen=True, slots=True)
class Message:
    envelopes: tuple[Envelope, ...]


def is_message(text: str) -> bool:
    return text.startswith(HEADER)


def parse(text: str) -> Message:
    """The message in `text` (`EnvelopeError`, with the position, for one that is truncated or malformed)."""
    norm, origin = _normalised(text)

    def fail(message: str, at: int) -> EnvelopeError:
        return EnvelopeError(message, origin[min(at, len(norm))])

    if not norm.startswith(HEADER):
        raise fail("a message begins with '[)>'", 0)
    if len(norm) == len(HEADER) or norm[3] != RS:
        raise fail("expected RS after the header '[)>'", 3)
    envelopes: list[Envelope] = []
    at = 4
    while at >= len(norm) or norm[at] != EOT:
        if at >= len(norm):
            raise fail("truncated: the message ends without EOT", at)
        envelope, at = _envelope(norm, at, fail)
        envelopes.append(envelope)
    if not envelopes:
        raise fail("the message holds no format envelope", at)
    if at + 1 < len(norm):
        raise fail("text after the end of the message (EOT)", at + 1)
    return Message(tuple(envelopes))


def _envelope(norm: str, at: int, fail: _Fail) -> tuple[Envelope, int]:
    """The format envelope that begins at `at`, and where the next one begins."""
    indicator = norm[at : at + 2]
    if len(indicator) < 2 or not (indicator.isascii() and indicator.isdigit()):
        raise fail("expected a two-digit format indicator", at)
    if indicator not in FORMATS:
        known = ", ".join(f"{f}: {what}" for f, what in FORMATS.items())
        raise fail(f"format {indicator} is not supported (only {known})", at)
    if at + 2 >= len(norm):
        raise fail(f"truncated after format indicator {indicator}", at + 2)
    if norm[at + 2] != GS:
        raise fail(f"expected GS after format indicator {indicator}", at + 2)
    start = at + 3
    end = norm.find(RS, start)
    eot = norm.find(EOT, start)
    if end < 0 or 0 <= eot < end:
        raise fail(f"truncated: format {indicator} envelope not closed by RS", len(norm) if eot < 0 else eot)
    data = norm[start:end]
    if indicator == "05":
        if not data:
            raise fail("format 05 envelope holds no element string", start)
        return Envelope(indicator, data), end + 1
    return Envelope(indicator, data, _elements(data, start, fail)), end + 1


def _elements(data: str, start: int, fail: _Fail) -> tuple[DataElement, ...]:
    elements = []
    at = start
    for chunk in data.split(GS):
        if not chunk:
            raise fail("empty data element (GS where a data element belongs)", at)
        found = DATA_IDENTIFIER.match(chunk)
        if found is None:
            raise fail(f"data element {chunk[:12]!r} does not begin with a data identifier", at)
        identifier = found.group(0)
        elements.append(DataElement(identifier, chunk[len(identifier) :]))
        at += len(chunk) + 1
    return tuple(elements)


def _normalised(text: str) -> tuple[str, list[int]]:
    """`text` with the visible forms of its notation replaced by the control characters, and for each
    character of the result (and its end) its position in `text`."""
    after = text[len(HEADER) :]
    forms = next(
        (f for name, f in _FORMS.items() if name != "control" and after[: len(f[0])].upper() == f[0].upper()),
        None,
    )
    if forms is None:
        return text, list(range(len(text) + 1))
    replacements = {form.upper(): control for form, control in zip(forms, (RS, GS, EOT), strict=True)}
    chars: list[str] = []
    origin: list[int] = []
    at = 0
    while at < len(text):
        for form, control in replacements.items():
            if text[at : at + len(form)].upper() == form:
                chars.append(control)
                origin.append(at)
                at += len(form)
                break
        else:
            chars.append(text[at])
            origin.append(at)
            at += 1
    origin.append(len(text))
    return "".join(chars), origin


def encode(message: Message, notation: Notation = "control") -> str:
    """The text of `message`, its control characters written in `notation`."""
    rs, gs, eot = _FORMS[notation]
    parts = [HEADER, rs]
    for envelope in message.envelopes:
        data = envelope.data if envelope.format == "05" else gs.join(_element_texts(envelope.elements))
        parts += [envelope.format, gs, data.replace(GS, gs), rs]
    parts.append(eot)
    return "".join(parts)


def _element_texts(elements: Sequence[DataElement]) -> list[str]:
    return [element.identifier + element.value for element in elements]


def format06(*elements: tuple[str, str]) -> Envelope:
    """A format 06 envelope of (data identifier, data) pairs."""
    data = tuple(DataElement(identifier, value) for identifier, value in elements)
    return Envelope("06", GS.join(_element_texts(data)), data)
