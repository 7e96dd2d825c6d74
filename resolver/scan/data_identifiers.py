"""ANSI MH10.8.2 (ISO/IEC 15418) data identifiers: the ones automotive and logistics labels carry (VDA 4994
/ Odette GTL, AIAG B-10, ECIA EIGP 114, IUID), by name, and for any other the name of its category (its
letter)."""

from __future__ import annotations

import re

# A data identifier is an upper-case letter, optionally after up to three digits ("P", "1P", "25S").
DATA_IDENTIFIER = re.compile(r"([0-9]{0,3})([A-Z])")

NAMES: dict[str, str] = {
    "B": "container type",
    "1B": "returnable container id",
    "D": "date (YYMMDD)",
    "6D": "date (YYYYMMDD)",
    "9D": "date code (YYWW)",
    "10D": "date code (YYWW)",
    "14D": "expiration date (YYYYMMDD)",
    "16D": "production date (YYYYMMDD)",
    "I": "vehicle identification number (VIN)",
    "J": "license plate",
    "1J": "license plate (lowest-level package)",
    "5J": "license plate (mixed load)",
    "6J": "license plate (master label)",
    "K": "customer order number",
    "1K": "supplier order number",
    "10K": "invoice number",
    "11K": "packing list number",
    "14K": "order line item",
    "L": "storage location",
    "4L": "country of origin",
    "P": "part number (customer)",
    "1P": "part number (supplier)",
    "2P": "revision level",
    "30P": "part number (current, supplier)",
    "Q": "quantity",
    "7Q": "quantity with unit of measure",
    "S": "serial number",
    "18S": "serial number (CAGE code + serial)",
    "25S": "unique item identifier (IAC + company + serial)",
    "T": "lot number (customer)",
    "1T": "batch / lot number (supplier)",
    "V": "supplier id (customer-assigned)",
    "12V": "manufacturer (DUNS)",
    "18V": "party id (ISO 15459 issuing agency + company)",
}

CATEGORIES: dict[str, str] = {
    "B": "container information",
    "D": "date",
    "E": "environmental",
    "F": "field continuation",
    "H": "human resources",
    "I": "vehicle identification",
    "J": "license plate",
    "K": "transaction reference",
    "L": "location",
    "N": "industry assigned",
    "P": "item information",
    "Q": "measurement",
    "R": "miscellaneous",
    "S": "traceability of an entity",
    "T": "traceability of a group (lot)",
    "V": "party",
    "W": "work in progress",
    "Y": "internal",
    "Z": "mutually defined",
}


def name_of(identifier: str) -> str:
    """The name of a data identifier, or of its category when it has none of its own here."""
    known = NAMES.get(identifier)
    if known is not None:
        return known
    return f"{CATEGORIES.get(identifier[-1], 'reserved')} ({identifier})"
