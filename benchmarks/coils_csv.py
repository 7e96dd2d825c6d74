"""A CSV export of steel coils, as an MES would write it, for `idnode import`; one row in a hundred broken.

    python -m benchmarks.coils_csv --rows 100000 --output coils.csv [--prefix 88.999.1] [--broken-every 100]

The header is `handle` and the steel-coil template's item types. Every `--broken-every`th row is broken in
one of five ways, in turn: a field missing, a thickness that is not a number, no handle, no coil number (a
required item), a heat number longer than the template allows. The same arguments write the same file.
"""

from __future__ import annotations

import argparse
import csv
import random
from collections.abc import Callable, Iterator
from pathlib import Path

from .data import coil

HEADER = [
    "handle",
    "heatNo",
    "slabNo",
    "coilNo",
    "grade",
    "thicknessMm",
    "widthMm",
    "weightKg",
    "millCertUrl",
]
BREAKS: list[Callable[[list[str]], list[str]]] = [
    lambda row: row[:-1],
    lambda row: [*row[:5], "thick", *row[6:]],
    lambda row: ["", *row[1:]],
    lambda row: [*row[:3], "", *row[4:]],
    lambda row: [row[0], "H" * 30, *row[2:]],
]


def rows(count: int, prefix: str, broken_every: int) -> Iterator[list[str]]:
    rng = random.Random(2641)
    for n in range(count):
        handle, fields = coil(n, prefix, rng, values=8)
        row = [handle, *(text for _, _, text in fields)]
        if broken_every and n % broken_every == broken_every - 1:
            row = BREAKS[(n // broken_every) % len(BREAKS)](row)
        yield row


def write(path: Path, count: int, prefix: str, broken_every: int = 100) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        writer.writerows(rows(count, prefix, broken_every))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--prefix", default="88.999.1")
    parser.add_argument("--broken-every", type=int, default=100)
    args = parser.parse_args()
    write(args.output, args.rows, args.prefix, args.broken_every)


if __name__ == "__main__":
    main()
