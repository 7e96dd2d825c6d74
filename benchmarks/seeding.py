"""A scenario's database: a scratch database holding the bench node, its records and, for SNMS writes, the
steel-coil template; SQLite seeds of a million records are kept between runs.

Seeding 1,000,000 records takes about a minute here, and a SQLite database is one file: after the first run
the file is copied from a cache folder instead, keyed by the registry's source digest (a changed schema or
encoding seeds afresh). PostgreSQL is seeded afresh every run.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .data import Record, records
from .databases import scratch_database, settle
from .machine import source_digest
from .node_setup import PREFIX, bench_services, load_steel_coil, migrate, register_records
from .workload import VALUES

CACHE = Path(tempfile.gettempdir()) / "idnode-bench-cache"
CACHE_FROM = 500_000  # records; smaller seeds take seconds


@dataclass(frozen=True)
class Seeded:
    url: str
    handles: list[str]  # in registration order
    samples: list[Record]  # a few of the records, to check the node's answers against


def _sampled(count: int, into: list[Record], prefix: str = PREFIX) -> Iterator[Record]:
    """data.records() as seeded, keeping the first, second, middle and last in `into` on the way."""
    keep = {0, 1, count // 2, count - 1}
    for n, record in enumerate(records(count, prefix, values=VALUES)):
        if n in keep:
            into.append(record)
        yield record


async def seed(
    url: str,
    count: int,
    template: bool = False,
    samples: list[Record] | None = None,
    *,
    prefix: str = PREFIX,
) -> list[str]:
    """`count` records of 5 to 8 values under the bench enterprise `prefix` (after the steel-coil template,
    when `template`); their handles. A few of the records are added to `samples`, when given."""
    async with bench_services(url, prefix) as (services, principal):
        if template:
            await load_steel_coil(services)
        kept = samples if samples is not None else []
        return await register_records(services, principal, _sampled(count, kept, prefix))


def _cache_file(count: int, template: bool) -> Path:
    return CACHE / f"sqlite-{count}-{'steel' if template else 'plain'}-{source_digest(('registry',))}.db"


def _keep(database: Path, cached: Path) -> None:
    """Copy a settled database into the cache (complete or not at all), dropping older digests' copies."""
    CACHE.mkdir(exist_ok=True)
    for older in CACHE.glob(cached.name.rsplit("-", 1)[0] + "-*.db"):
        older.unlink()
    partial = cached.with_suffix(".partial")
    shutil.copyfile(database, partial)
    partial.rename(cached)


def _handles(found: Iterable[Record]) -> list[str]:
    return [handle for handle, _ in found]


@contextmanager
def seeded_database(db: str, count: int, template: bool) -> Iterator[Seeded]:
    """A scratch `db` database seeded for a scenario; removed afterwards (the cache copy stays)."""
    with scratch_database(db) as url:
        samples: list[Record] = []
        cached = _cache_file(count, template)
        if db == "sqlite" and count >= CACHE_FROM and cached.exists():
            shutil.copyfile(cached, url.removeprefix("sqlite:///"))
            yield Seeded(url, _handles(_sampled(count, samples)), samples)
            return
        migrate(url)
        handles = asyncio.run(seed(url, count, template, samples))
        settle(url)
        if db == "sqlite" and count >= CACHE_FROM:
            _keep(Path(url.removeprefix("sqlite:///")), cached)
        yield Seeded(url, handles, samples)
