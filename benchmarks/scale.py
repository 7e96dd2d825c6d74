"""`python -m benchmarks run scale`: does resolution slow down as the registry grows from 10^5 to 10^7?

In one run, on one PostgreSQL database: 100,000 records are registered through the registry (data.records(),
as every scenario seeds), and the node is measured with wrk — hot (resolve_hot's Zipf GETs over those
records, every cache warm) and cold (caches off, GETs spread uniformly over every registered identifier,
each a store read). The database then grows to 10,000,000 identifiers and the same two measurements run
again; the figures at 10^7 over those at 10^5 are the result (target ≥ 0.9).

Growing: the 9,900,000 further identifiers are inserted by PostgreSQL itself (INSERT … SELECT over
generate_series), rows of exactly the shape the registry writes — the values JSON is the registry's own
encoding of a steel coil, with the numbers filled in per row. It is the fastest real path: a million rows in
seconds, where the registry's own batch path takes minutes; the node reads them like any other record (the
run checks some).
"""

from __future__ import annotations

import asyncio
import os
import random
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

from registry import HandleValue
from registry.codec import encode_values
from registry.values import render_time

from .cpu import machine_cpu
from .data import Record
from .databases import scratch_database, settle
from .harness import Options, wrong_answers
from .node_setup import PREFIX, migrate
from .report import append_row
from .resolve_hot import Config, Run, Workload, log_lines, served, warm, write_results
from .runs import closing, run_context
from .scenarios import Scenario
from .seeding import seed
from .services import node_env, node_serving, process_metrics, redis_serving
from .workload import every_path, write_paths, zipf_paths
from .wrk import WrkLoad, run_wrk, shown

SMALL = 100_000  # registered through the registry; the large size grows the same database
COLD_SAMPLES = 200_000  # uniform GET paths over every identifier, picked from by wrk
GROW_CHUNK = 500_000  # rows an INSERT … SELECT: a progress line each, no transaction of hours
SCENARIO_RECORDS = 10_000_000  # the large size; --records sets another (at most 10^9: nine digits)
QUIET_CORES = 0.25  # machine busy below this many cores over a second: quiet enough to measure
QUIET_LIMIT_S = 180.0
TARGET = 0.9  # the large size's GET/s over the small size's, hot and cold
BULK = "BULK-"  # the grown identifiers' suffixes: BULK-000100000 …
STAMP = 1_764_800_000  # the grown records' value timestamp (2025-12-03)
_FIELDS = (  # a steel coil of 5 values, its numbers filled in per row by PostgreSQL
    (2000, "heatNo", "H26§HEAT§"),
    (2001, "slabNo", "H26§HEAT§-§SLAB§"),
    (2002, "coilNo", "C§N§"),
    (2003, "grade", "Q355B GB/T 1591-2018"),
    (2004, "thicknessMm", "4.00"),
)


def bulk_record(n: int) -> Record:
    """What the grown identifier number `n` holds, as the run checks it."""
    heat, slab = f"{n // 40:06d}", f"{n % 40 // 4 + 1:02d}"
    fields = [
        (i, t, v.replace("§HEAT§", heat).replace("§SLAB§", slab).replace("§N§", f"{n:09d}"))
        for i, t, v in _FIELDS
    ]
    return f"{PREFIX}/{BULK}{n:09d}", fields


def _values_template() -> str:
    values = [HandleValue.text(index, kind, text) for index, kind, text in _FIELDS]
    return encode_values(values, render_time(STAMP)).decode()


GROW_SQL = """
INSERT INTO handles (handle, name, prefix, values_json, created_at, updated_at, template_version)
SELECT h, h, $3::text,
       replace(replace(replace($4::text, '§HEAT§', lpad((n / 40)::text, 6, '0')),
               '§SLAB§', lpad((n % 40 / 4 + 1)::text, 2, '0')), '§N§', lpad(n::text, 9, '0')),
       now(), now(), NULL
FROM (SELECT n, $3::text || '/' || $5::text || lpad(n::text, 9, '0') AS h
      FROM generate_series($1::bigint, $2::bigint) AS n) AS grown
"""


async def _grow(url: str, start: int, stop: int) -> None:
    conn = await asyncpg.connect(url)
    try:
        template = _values_template()
        for first in range(start, stop, GROW_CHUNK):
            last = min(first + GROW_CHUNK, stop) - 1
            await conn.execute(GROW_SQL, first, last, PREFIX, template, BULK)
            print(f"grown to {last + 1:,} identifiers", flush=True)
    finally:
        await conn.close()


def grow(url: str, start: int, stop: int) -> dict[str, float]:
    """Identifiers `start` … `stop - 1` inserted by PostgreSQL; the time it took, settling included."""
    began = time.monotonic()
    asyncio.run(_grow(url, start, stop))
    inserted = time.monotonic()
    settle(url)
    done = time.monotonic()
    rows = stop - start
    return {
        "rows": rows,
        "insert_s": round(inserted - began, 1),
        "settle_s": round(done - inserted, 1),
        "rows_per_s": round(rows / max(inserted - began, 1e-9)),
    }


def handle_number(n: int, seeded: list[str]) -> str:
    return seeded[n] if n < len(seeded) else bulk_record(n)[0]


def cold_paths(size: int, seeded: list[str], folder: Path) -> Path:
    """GET paths of identifiers drawn uniformly from all `size` registered (with a fixed seed)."""
    rng = random.Random(2641)
    names = [handle_number(rng.randrange(size), seeded) for _ in range(min(COLD_SAMPLES, 2 * size))]
    return write_paths(every_path(names), folder / f"cold-{size}.txt")


def quiet(limit_s: float = QUIET_LIMIT_S) -> float:
    """Flush what the kernel holds dirty and wait until the machine is nearly idle (PostgreSQL's background
    writers and the kernel's flushers after a bulk load take a core for a while); the seconds it took."""
    began = time.monotonic()
    os.sync()
    busy, total = machine_cpu()
    while time.monotonic() - began < limit_s:
        time.sleep(1.0)
        now_busy, now_total = machine_cpu()
        cores = (now_busy - busy) / max(now_total - total, 1e-9) * (os.cpu_count() or 1)
        if cores < QUIET_CORES:
            break
        busy, total = now_busy, now_total
    return round(time.monotonic() - began, 1)


def _measure(base: str, workers: int, load: WrkLoad, paths: Path) -> dict[str, Any]:
    waited = quiet()
    before = process_metrics(base, workers)
    command = load.command(base, paths)
    busy, total = machine_cpu()
    result = run_wrk(command)
    after_busy, after_total = machine_cpu()
    hits = served(before, process_metrics(base, workers))
    machine = (after_busy - busy) / max(after_total - total, 1e-9) * (os.cpu_count() or 1)
    return asdict(result) | {
        "hits": hits,
        "command": shown(command),
        "quiet_wait_s": waited,
        "machine_busy_cores": round(machine, 2),
    }


@contextmanager
def _node(url: str, layers: str, redis_url: str | None, workers: int, log: Path) -> Iterator[str]:
    env = node_env(url, layers, redis_url)
    with node_serving(env, workers, log) as base:
        yield base


def measure_size(
    url: str, size: int, seeded: list[str], samples: list[Record], options: Options, folder: Path
) -> dict[str, Any]:
    """Hot and cold GET/s of the node with `size` identifiers registered."""
    hot_paths = zipf_paths(seeded)
    hot_file = write_paths(hot_paths, folder / f"hot-{size}.txt")
    workload = Workload(hot_file, list(dict.fromkeys(p.removeprefix("/api/handles/") for p in hot_paths)), "")
    load = options.wrk
    checks = samples + ([bulk_record(len(seeded)), bulk_record(size - 1)] if size > len(seeded) else [])
    found: dict[str, Any] = {"identifiers": size}
    with ExitStack() as stack:
        redis_url = stack.enter_context(redis_serving(folder / f"redis-{size}")) if options.redis else None
        log = folder / f"node-{size}.log"
        base = stack.enter_context(_node(url, options.layers, redis_url, options.workers, log))
        found["wrong_answers"] = wrong_answers(base, checks)
        print(f"{size:,} identifiers: hot, caches {options.layers}", flush=True)
        config = Config("postgres", options.workers, options.layers)
        warm(base, config, Run(load, workload, folder, url), redis_url)
        found["hot"] = _measure(base, options.workers, load, hot_file)
    found["node_log"] = log_lines(log)
    cold_file = cold_paths(size, seeded, folder)
    log = folder / f"node-{size}-cold.log"
    with _node(url, "off", None, options.workers, log) as base:
        print(f"{size:,} identifiers: cold, caches off", flush=True)
        run_wrk(WrkLoad(load.threads, load.connections, 2).command(base, cold_file, seed=99))  # connections
        found["cold"] = _measure(base, options.workers, load, cold_file)
    found["node_log"] += log_lines(log)
    return found


def conclusions(result: dict[str, Any]) -> None:
    small, large = result["small"], result["large"]
    for kind in ("hot", "cold"):
        result[f"{kind}_rps_small"] = small[kind]["rps"]
        result[f"{kind}_rps_large"] = large[kind]["rps"]
        result[f"{kind}_ratio"] = round(large[kind]["rps"] / max(small[kind]["rps"], 1e-9), 3)
    result["target"] = TARGET
    result["errors"] = sum(size[kind]["errors"] for size in (small, large) for kind in ("hot", "cold"))
    result["node_log"] = small["node_log"] + large["node_log"]
    result["failures"] = []
    result["per_request"] = {
        f"{size['identifiers']:,} identifiers, {kind}": {
            "requests": size[kind]["requests"], "rps": size[kind]["rps"], "p50_ms": size[kind]["p50_ms"],
            "p99_ms": size[kind]["p99_ms"], "errors": size[kind]["errors"],
        }
        for size in (small, large) for kind in ("hot", "cold")
    }  # fmt: skip


def _shortfalls(result: dict[str, Any]) -> list[str]:
    found = [f"wrong answer: {line}" for size in ("small", "large") for line in result[size]["wrong_answers"]]
    if result["errors"]:
        found.append(f"wrk: {result['errors']} errors or non-2xx answers")
    cold = result["large"]["cold"]["hits"]
    if cold["store_reads"] < 0.9 * result["large"]["cold"]["requests"]:
        found.append(f"cold at 10^7: only {cold['store_reads']:,} store reads, caches answered")
    return found


def command(config: dict[str, Any]) -> str:
    records = "" if config["records"] == SCENARIO_RECORDS else f" --records {config['records']}"
    return (
        f"python -m benchmarks run scale --db postgres{records} --workers {config['workers']} "
        f"--redis {'on' if config['redis'] else 'off'} --duration {config['seconds']}"
    )


def small_size(records: int) -> int:
    return min(SMALL, max(records // 100, 100))


def run_scale(scenario: Scenario, options: Options, seconds: int, output: Path) -> Path:
    """Both sizes measured in one run; the results file, with a row added to `output/RESULTS.md`."""
    started = datetime.now(UTC)
    records = scenario.records
    small = small_size(records)
    config = asdict(options) | {"seconds": seconds, "records": records}
    result = run_context(scenario, options, started) | {"config": config, "command": command(config)}
    with tempfile.TemporaryDirectory(prefix="idnode-scale-") as folder, scratch_database("postgres") as url:
        migrate(url)
        print(f"registering {small:,} records through the registry", flush=True)
        began = time.monotonic()
        samples: list[Record] = []
        seeded = asyncio.run(seed(url, small, samples=samples))
        settle(url)
        result["registered"] = {"rows": small, "seconds": round(time.monotonic() - began, 1)}
        result["small"] = measure_size(url, small, seeded, samples, options, Path(folder))
        print(f"growing to {records:,} identifiers in PostgreSQL", flush=True)
        result["grown"] = grow(url, small, records)
        result["large"] = measure_size(url, records, seeded, samples, options, Path(folder))
    conclusions(result)
    result["bottleneck"], result["bottleneck_reason"] = "wrk", "the node flat out, no locust"
    closing(result)
    result["problems"] += _shortfalls(result)
    path = write_results(result, started, scenario.name, output / "results")
    append_row(row(result, path), output / "RESULTS.md", COLUMNS, INTRO)
    return path


COLUMNS = [
    "UTC",
    "command (`python -m benchmarks …`)",
    "identifiers",
    "grown by PostgreSQL",
    "hot GET/s small; large",
    "hot ratio (≥ 0.9)",
    "cold GET/s small; large",
    "cold ratio (≥ 0.9)",
    "errors",
    "results",
]
INTRO = """\
## Scale (`run scale`)

One PostgreSQL database, measured with wrk (`-t1 -c32`) at two sizes: 100,000 records registered through the
registry, then grown to 10,000,000 identifiers by PostgreSQL itself (INSERT … SELECT over generate_series,
rows as the registry writes them). Hot: resolve_hot's Zipf GETs over the first 100,000, caches warm.
Cold: caches off, GETs uniform over every identifier, each a store read. The ratios divide the large size's
GET/s by the small size's.

"""


def row(result: dict[str, Any], file: Path) -> str:
    grown = result["grown"]
    cells = [
        result["started"][:16].replace("T", " "),
        "`" + result["command"].removeprefix("python -m benchmarks ") + "`",
        f"{result['small']['identifiers']:,} → {result['large']['identifiers']:,}",
        f"{grown['rows']:,} rows in {grown['insert_s']:,.0f} s ({grown['rows_per_s']:,}/s)",
        f"{result['hot_rps_small']:,.0f}; {result['hot_rps_large']:,.0f}",
        f"{result['hot_ratio']:.2f}",
        f"{result['cold_rps_small']:,.0f}; {result['cold_rps_large']:,.0f}",
        f"{result['cold_ratio']:.2f}",
        str(result["errors"]),
        f"[{file.name}](results/{file.name})",
    ]
    return "| " + " | ".join(cells) + " |"
