"""Which handles a load run asks for: a Zipf-skewed choice over the seeded records, as a file of paths.

    python -m benchmarks.workload paths.txt [--records 100000]

writes the list `resolve_hot` uses, for running benchmarks/locustfile.py by hand against a node it seeded.

The skew is sampled once, in Python and with a fixed seed, into a long list of paths; load generators then
pick uniformly from that list, which keeps the Zipf distribution without a Zipf sampler in Lua or locust.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
from collections.abc import Iterable
from pathlib import Path

from .data import records
from .node_setup import PREFIX

ZIPF_S = 1.1
SAMPLES = 200_000
SEED = 2641
VALUES = (5, 8)  # values per record, drawn per record
BATCH_PATH = "/api/resolve"


def handles(count: int, prefix: str) -> list[str]:
    """The handles of the `count` records `resolve_hot` registers, in registration order."""
    return [handle for handle, _ in records(count, prefix, values=VALUES)]


def zipf_paths(
    names: Iterable[str], *, samples: int = SAMPLES, s: float = ZIPF_S, seed: int = SEED
) -> list[str]:
    """`samples` GET paths whose handles follow Zipf(`s`) over `names`.

    Popularity ranks are a seeded shuffle of `names`, so that the hot handles are not simply the first
    registered (nor all parts, which alternate with coils).
    """
    ranked = list(names)
    rng = random.Random(seed)
    rng.shuffle(ranked)
    weights = itertools.accumulate(rank**-s for rank in range(1, len(ranked) + 1))
    chosen = rng.choices(ranked, cum_weights=list(weights), k=samples)
    return [f"/api/handles/{name}" for name in chosen]


def every_path(names: Iterable[str]) -> list[str]:
    """One GET path per handle: picked uniformly by the load generators, a uniform load over `names`."""
    return [f"/api/handles/{name}" for name in names]


def batch_lines(paths: list[str], size: int) -> list[str]:
    """`POST /api/resolve` request lines (method, path, JSON body) of `size` consecutive sampled handles
    each: batches keep the skew of the samples they are cut from."""
    return [
        f"POST {BATCH_PATH} " + json.dumps({"handles": [handle_of(p) for p in paths[first : first + size]]})
        for first in range(0, len(paths) - size + 1, size)
    ]


def handle_of(path: str) -> str:
    return path.removeprefix("/api/handles/")


def write_paths(paths: list[str], file: Path) -> Path:
    file.write_text("\n".join(paths) + "\n")
    return file


def main() -> None:
    parser = argparse.ArgumentParser(description="Write resolve_hot's Zipf-skewed GET paths to a file.")
    parser.add_argument("file", type=Path)
    parser.add_argument("--records", type=int, default=100_000)
    args = parser.parse_args()
    write_paths(zipf_paths(handles(args.records, PREFIX)), args.file)


if __name__ == "__main__":
    main()
