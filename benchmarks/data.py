"""Seeded generators of realistic supply-chain records: automotive parts and steel coils.

Every generator is deterministic for a given seed, so a figure can be reproduced with the same data.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, timedelta

Record = tuple[str, list[tuple[int, str, str]]]  # handle, [(index, type, text)]

_PART_FAMILIES = ["3502010", "3501075", "2904010", "1109010", "5301010", "2402010", "3406010"]
_SUPPLIERS = ["SY-0101", "SY-0217", "SY-0342", "EZ-0008", "WH-1130", "XF-0415"]
_GRADES = [
    ("Q355B", "GB/T 1591-2018"),
    ("Q235B", "GB/T 700-2006"),
    ("SPHC", "JIS G3131"),
    ("DC01", "GB/T 5213"),
]


def part(n: int, prefix: str, rng: random.Random, values: int = 5) -> Record:
    """A stamped or machined part of a commercial-vehicle chain (5 to 8 values)."""
    made = date(2026, 1, 1) + timedelta(days=n % 320)
    family = rng.choice(_PART_FAMILIES)
    fields = [
        (2000, "customerPartNo", f"DF-{family}-C{n % 997:04d}"),
        (2001, "supplierPartNo", f"{rng.choice('ABCDEFGH')}{family[:4]}-{n % 9973:05d}"),
        (2002, "supplierCode", rng.choice(_SUPPLIERS)),
        (2003, "batchNo", f"B{made:%Y%m%d}-{n % 24:02d}"),
        (2004, "productionDate", made.isoformat()),
        (2005, "vinLink", f"88.118.1/VIN-LGAX{n % 10_000_000:07d}"),
        (2006, "inspection", rng.choice(["OK", "OK", "OK", "REWORKED"])),
        (1, "URL", f"https://mes.example.com/parts/{n}"),
    ]
    return f"{prefix}/PART-{n:08d}", fields[:values]


def coil(n: int, prefix: str, rng: random.Random, values: int = 5) -> Record:
    """A hot-rolled coil of a metallurgy chain (5 to 8 values)."""
    grade, standard = rng.choice(_GRADES)
    heat = f"H26{n // 40:06d}"
    fields = [
        (2000, "heatNo", heat),
        (2001, "slabNo", f"{heat}-{n % 40 // 4 + 1:02d}"),
        (2002, "coilNo", f"C{n:09d}"),
        (2003, "grade", f"{grade} {standard}"),
        (2004, "thicknessMm", f"{rng.choice([2.0, 2.75, 3.5, 4.0, 6.0]):.2f}"),
        (2005, "widthMm", str(rng.choice([1250, 1500, 1550, 1800]))),
        (2006, "weightKg", str(rng.randint(18_000, 28_000))),
        (2007, "millCertUrl", f"https://mill.example.com/cert/{heat}.pdf"),
    ]
    return f"{prefix}/COIL-{n:09d}", fields[:values]


def records(
    count: int, prefix: str, *, seed: int = 2641, values: int | tuple[int, int] = 5, start: int = 0
) -> Iterator[Record]:
    """Parts and coils, alternating, `values` values each, or (low, high): between low and high, inclusive,
    drawn per record from the same seeded generator."""
    rng = random.Random(seed)
    for n in range(start, start + count):
        make = part if n % 2 == 0 else coil
        # A fixed count draws nothing, so the records of a fixed count stay what they were.
        count_here = values if isinstance(values, int) else rng.randint(*values)
        yield make(n, prefix, rng, count_here)


def as_json(fields: list[tuple[int, str, str]]) -> list[dict[str, object]]:
    """Values in the Handle REST JSON form."""
    return [{"index": index, "type": kind, "data": text} for index, kind, text in fields]


def as_snms(record: Record, template_version: str = "1.0") -> dict[str, object]:
    """A record as an SNMS identifier body (`POST /identityv2/data`, an item of batchCreate)."""
    handle, fields = record
    value = [
        {"index": index, "type": kind, "auth": "", "data": {"format": "string", "value": text}}
        for index, kind, text in fields
    ]
    return {"handle": handle, "templateVersion": template_version, "value": value}
