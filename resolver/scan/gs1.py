"""GS1 element strings and GS1 Digital Link URIs, parsed by biip; check digits of GS1 keys checked."""

from __future__ import annotations

from dataclasses import dataclass

from biip import ParseError
from biip.gs1_digital_link_uris import GS1DigitalLinkURI
from biip.gs1_element_strings import GS1ElementString
from biip.gs1_messages import GS1Message

from .errors import CheckDigitError, ScanError

GS = "\x1d"
# Symbology identifiers (ISO/IEC 15424) of symbols whose data is a GS1 element string: GS1-128, GS1 DataBar,
# GS1 DataMatrix, GS1 QR Code, GS1 Composite.
GS1_SYMBOLOGIES = frozenset({"]C1", "]e0", "]d2", "]Q3", "]e1", "]e2"})
# How people and keyboard-wedge scanners write the FNC1 separator (GS) when they cannot send the byte.
_VISIBLE_GS = ("␝", "<GS>", "<gs>", "<FNC1>", "<fnc1>", "{GS}", "{FNC1}")

# GS1 keys (and the key qualifiers lot and serial) under the names the alternate keys are looked up by.
KEYS = {
    "00": "sscc",
    "01": "gtin",
    "10": "lot",
    "21": "serial",
    "253": "gdti",
    "255": "gcn",
    "401": "ginc",
    "402": "gsin",
    "414": "gln",
    "417": "partyGln",
    "8003": "grai",
    "8004": "giai",
}


@dataclass(frozen=True, slots=True)
class Element:
    """One GS1 element: its application identifier, the AI's data title and description, and its value."""

    ai: str
    name: str
    description: str
    value: str


def element_string(text: str) -> tuple[Element, ...]:
    """The elements of a GS1 element string: FNC1 as GS (or a visible form of it), with or without a GS1
    symbology identifier (`]C1`, `]d2`, `]Q3`, …), or in the human-readable form with parentheses."""
    if text[:3] in GS1_SYMBOLOGIES:
        text = text[3:]
    for visible in _VISIBLE_GS:
        text = text.replace(visible, GS)
    text = text.lstrip(GS)  # FNC1 in first position, as some scanners pass it on
    if not text:
        raise ScanError("GS1: the element string is empty")
    try:
        if text.startswith("("):
            message = GS1Message.parse_hri(text.replace(GS, ""))
        else:
            message = GS1Message.parse(text)
    except ParseError as exc:
        raise ScanError(f"GS1: {exc}") from None
    return _checked(message.element_strings)


def digital_link(uri: str) -> tuple[Element, ...]:
    """The elements of a GS1 Digital Link URI (`https://id.gs1.org/01/09506000134352/10/ABC?17=271231`)."""
    try:
        link = GS1DigitalLinkURI.parse(uri)
    except ParseError as exc:
        raise ScanError(f"GS1 Digital Link: {exc}") from None
    return _checked(link.element_strings)


def _checked(elements: list[GS1ElementString]) -> tuple[Element, ...]:
    checked = []
    for element in elements:
        ai = element.ai
        error = element.gtin_error or element.sscc_error or element.gln_error
        if error:
            raise CheckDigitError(f"AI ({ai.ai}) {ai.data_title}", error)
        checked.append(Element(ai.ai, ai.data_title, ai.description, element.value))
    return tuple(checked)
