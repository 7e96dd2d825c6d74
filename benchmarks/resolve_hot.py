"""Hot resolution: single-handle GETs of a running node over Zipf-skewed handles, per cache configuration,
against nginx serving one record's bytes with the same wrk command and the same number of processes.

    python -m benchmarks.resolve_hot [--db sqlite postgres] [--processes 1 2] [--layers l1 l2 off]
                                     [--seconds 9] [--records 100000] [--locust]

For each database: seeds `--records` identifiers of 5 to 8 values in a scratch database and samples the
Zipf-skewed paths (benchmarks/workload.py). For each configuration: starts the node (and, for l2, a private
redis-server), warms its caches, measures the peak with wrk, then measures again paced at half that peak
(the target: p99 within 10 ms there), and reads every process's /metrics to show what answered. nginx is
measured after each configuration, with as many workers. Results: benchmarks/results/resolve_hot-<UTC>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from resolver.cache.coherence import shared_slots_path

from .databases import scratch_database, settle
from .locust_run import locust_command, run_locust
from .machine import describe, free_port, source_digest
from .node_setup import migrate
from .seeding import seed
from .services import (
    ProcessMetrics,
    counted,
    node_env,
    node_serving,
    process_metrics,
    redis_keys,
    redis_serving,
)
from .workload import SAMPLES, VALUES, ZIPF_S, handle_of, write_paths, zipf_paths
from .wrk import WrkLoad, WrkResult, nginx_serving, run_wrk, shown

RESULTS = Path(__file__).parent / "results"
SCENARIO = "resolve_hot"
LOCUST_LABEL = "locust (load-generator bound)"
BATCH = 1_000  # handles a warm-up POST /api/resolve (its maximum)
WARM_PASSES = 40  # at most; each pass sends every sampled handle once, over new connections
WARM_WRK_SECONDS = 2
# The node's counters a run reports; store_queries counts round trips, store_reads the handles they read.
COUNTERS = ("l1_hits", "l2_hits", "store_reads", "store_queries", "store_errors")


@dataclass(frozen=True)
class Config:
    db: str
    processes: int
    layers: str  # l1, l2, l1,l2 or off: IDNODE_CACHE_LAYERS

    @property
    def caches(self) -> set[str]:
        return set(self.layers.split(",")) - {"off"}


@dataclass(frozen=True)
class Workload:
    """What the load generators ask for: the sampled paths, in a file, and what they name."""

    paths: Path
    distinct: list[str]  # the handles the samples name, each once
    hottest: str  # the most sampled path: its answer is the bytes nginx serves


@dataclass(frozen=True)
class Run:
    """What one run needs besides its configuration."""

    load: WrkLoad
    workload: Workload
    folder: Path
    database_url: str


# ---------------------------------------------------------------------------------------------- set-up


def prepare(url: str, count: int, folder: Path) -> Workload:
    migrate(url)
    paths = zipf_paths(asyncio.run(seed(url, count)))
    settle(url)
    distinct = list(dict.fromkeys(handle_of(path) for path in paths))
    hottest = Counter(paths).most_common(1)[0][0]
    return Workload(write_paths(paths, folder / "paths.txt"), distinct, hottest)


@contextmanager
def serving(config: Config, run: Run) -> Iterator[tuple[str, str | None]]:
    """The node of `config` and, for l2, its private Redis (its URL, else None); both stopped afterwards."""
    with ExitStack() as stack:
        redis_url = None
        if "l2" in config.caches:
            redis_url = stack.enter_context(redis_serving(run.folder / f"redis-{time.monotonic_ns()}"))
        env = node_env(run.database_url, config.layers, redis_url)
        yield stack.enter_context(node_serving(env, config.processes, _node_log(run, config))), redis_url


def _node_log(run: Run, config: Config) -> Path:
    return run.folder / f"node-{config.db}-{config.processes}-{config.layers}.log"


def log_lines(path: Path) -> list[str]:
    """What the node logged at warning level or above (nothing, when all went well)."""
    lines = path.read_text(errors="replace").splitlines()
    # `idnode serve` says where it serves, over HTTP and natively, before any log level applies.
    banners = (" serving on http://", "native Handle protocol on ", "native Handle protocol off ")
    return [line for line in lines if line.strip() and not any(banner in line for banner in banners)]


# ---------------------------------------------------------------------------------------------- warm-up


def _resolve_all(base: str, handles: list[str]) -> None:
    for first in range(0, len(handles), BATCH):
        # A new connection each call (no shared client): the kernel picks a worker for each.
        answer = httpx.post(
            f"{base}/api/resolve", json={"handles": handles[first : first + BATCH]}, timeout=60
        )
        answer.raise_for_status()


def _fill_l1(base: str, processes: int, handles: list[str]) -> int:
    """Resolve every handle until each process's L1 holds them all; how many passes it took.

    A batch lands on whichever worker takes its connection, so with several workers it takes a few passes.
    """
    for passes in range(1, WARM_PASSES + 1):
        _resolve_all(base, handles)
        entries = [m.get("l1_entries", 0) for m in process_metrics(base, processes).values()]
        if min(entries) >= len(handles):
            return passes
    raise RuntimeError(f"L1 of every process not filled after {WARM_PASSES} passes")


def _fill_l2(base: str, redis_url: str, handles: list[str], timeout: float = 30) -> None:
    """One pass fills Redis, which every process shares; its fills are sent after the answers, so wait."""
    _resolve_all(base, handles)
    deadline = time.monotonic() + timeout
    while redis_keys(redis_url) < len(handles):
        if time.monotonic() > deadline:
            raise RuntimeError(f"Redis holds {redis_keys(redis_url)} of the {len(handles)} handles warmed")
        time.sleep(0.1)


def warm(base: str, config: Config, run: Run, redis_url: str | None) -> int:
    """Every sampled handle in every cache of `config`, then a short wrk run; the L1 passes it took."""
    handles = run.workload.distinct
    if redis_url is not None:
        _fill_l2(base, redis_url, handles)
    passes = _fill_l1(base, config.processes, handles) if "l1" in config.caches else 0
    # The same GETs as measured, so that connections, the interpreter and the database's pages are warm too.
    short = WrkLoad(run.load.threads, run.load.connections, WARM_WRK_SECONDS)
    run_wrk(short.command(base, run.workload.paths, seed=99))
    return passes


# ---------------------------------------------------------------------------------------------- measuring


def served(before: ProcessMetrics, after: ProcessMetrics) -> dict[str, Any]:
    """What answered between two readings of /metrics: totals, and answers per process."""
    grown = {name: counted(before, after, f"{name}_total") for name in COUNTERS}
    totals: dict[str, Any] = {name: sum(per_pid.values()) for name, per_pid in grown.items()}
    answering = ("l1_hits", "l2_hits", "store_reads")
    totals["per_process"] = {str(pid): sum(grown[n][pid] for n in answering) for pid in sorted(after)}
    return totals


def claim_check(config: Config, hits: dict[str, Any], requests: int) -> list[str]:
    """How the counters differ from what `config` claims to measure; empty when they agree."""
    problems = []
    share = {name: hits[name] / max(requests, 1) for name in ("l1_hits", "l2_hits", "store_reads")}
    if "l1" not in config.caches and hits["l1_hits"]:
        problems.append(f"{hits['l1_hits']} L1 hits without L1")
    if "l2" not in config.caches and hits["l2_hits"]:
        problems.append(f"{hits['l2_hits']} L2 hits without L2")
    if config.caches == {"l1"} and share["l1_hits"] < 0.99:
        problems.append(f"only {share['l1_hits']:.1%} of the requests were L1 hits")
    if config.caches == {"l2"} and share["l2_hits"] < 0.99:
        problems.append(f"only {share['l2_hits']:.1%} of the requests were L2 hits")
    if not config.caches and hits["store_reads"] == 0:
        problems.append("no store reads without caches")
    if hits["store_errors"]:
        problems.append(f"{hits['store_errors']} store errors")
    idle = [pid for pid, answers in hits["per_process"].items() if answers == 0]
    if idle:
        problems.append(f"process(es) {', '.join(idle)} answered nothing")
    return problems


def paced(base: str, run: Run, rate: float) -> tuple[list[str], WrkResult]:
    """The wrk command offering `rate` requests a second, and its figures."""
    command = run.load.command(base, run.workload.paths, rate=rate)
    return command, run_wrk(command)


def _figures(prefix: str, result: WrkResult) -> dict[str, Any]:
    return {f"{prefix}{name}": value for name, value in asdict(result).items()}


def measure(base: str, config: Config, run: Run, redis_url: str | None) -> dict[str, Any]:
    """Peak and half-peak figures of the node at `base`, and what answered them."""
    passes = warm(base, config, run, redis_url)
    before = process_metrics(base, config.processes)
    command = run.load.command(base, run.workload.paths)
    peak = run_wrk(command)
    middle = process_metrics(base, config.processes)
    half_command, half = paced(base, run, peak.rps / 2)
    after = process_metrics(base, config.processes)
    hits = served(before, middle)
    return {
        "scenario": SCENARIO,
        "config": asdict(config),
        **_figures("", peak),
        "half_rate_target_rps": round(peak.rps / 2, 1),
        **_figures("half_rate_", half),
        "half_rate_p99_within_10ms": half.p99_ms <= 10,
        "hits": hits,
        # Below 1 without caches: concurrent GETs of one handle share a read (the hot ones often do).
        "store_reads_per_request": round(hits["store_reads"] / max(peak.requests, 1), 3),
        "half_rate_hits": served(middle, after),
        "claim_problems": claim_check(config, hits, peak.requests),
        "warm_l1_passes": passes,
        "distinct_handles": len(run.workload.distinct),
        "wrk_command": shown(command),
        "half_rate_wrk_command": shown(half_command),
    }


def measure_locust(base: str, config: Config, run: Run, seconds: int) -> dict[str, Any]:
    before = process_metrics(base, config.processes)
    command = locust_command(base, users=50, seconds=seconds, csv_prefix=run.folder / "locust")
    result = run_locust(command, run.workload.paths, run.folder, seconds)
    hits = served(before, process_metrics(base, config.processes))
    return {
        "scenario": SCENARIO,
        "label": LOCUST_LABEL,
        "config": asdict(config),
        **asdict(result),
        "hits": hits,
        "claim_problems": claim_check(config, hits, result.requests),
        "locust_command": f"IDNODE_BENCH_PATHS={run.workload.paths} {shown(command)}",
    }


def reference(body: bytes, processes: int, run: Run, under: str = "/api/handles/") -> dict[str, Any]:
    """nginx serving `body` at every path under `under` (every handle path), with as many workers, under
    the same wrk command."""
    with nginx_serving(body, "record.json", free_port(), processes, also_under=under) as base:
        command = run.load.command(base, run.workload.paths)
        result = run_wrk(command)
    return {
        "reference_rps": result.rps,
        "reference_p50_ms": result.p50_ms,
        "reference_p99_ms": result.p99_ms,
        "reference_errors": result.errors,
        "reference_wrk_command": shown(command),
        "reference_body_bytes": len(body),
    }


# ---------------------------------------------------------------------------------------------- the run


@dataclass(frozen=True)
class Options:
    processes: list[int]
    layers: list[str]
    records: int
    load: WrkLoad
    locust_seconds: int | None  # None: no locust row


def _process_group(
    run: Run, db: str, processes: int, options: Options, with_locust: bool
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every layer configuration with `processes` processes, each followed by nginx with as many workers
    (so that each ratio compares figures taken a minute apart at most): the rows, and the locust row (when
    `with_locust` and an l1 configuration is among them)."""
    rows: list[dict[str, Any]] = []
    extra: list[dict[str, Any]] = []
    for layers in options.layers:
        config = Config(db, processes, layers)
        print(f"… {db}, {processes} process(es), caches {layers}", flush=True)
        with serving(config, run) as (base, redis_url):
            body = httpx.get(base + run.workload.hottest).content
            row = measure(base, config, run, redis_url)
            if with_locust and not extra and layers == "l1" and options.locust_seconds:
                extra.append(measure_locust(base, config, run, options.locust_seconds))
        # Read once the node has stopped: whatever it logged at warning level or above.
        row["node_log"] = log_lines(_node_log(run, config))
        nginx = reference(body, processes, run)
        rows.append(row | nginx | {"ratio": round(row["rps"] / nginx["reference_rps"], 3)})
    return rows, extra


def run_database(db: str, options: Options, folder: Path, with_locust: bool) -> list[dict[str, Any]]:
    """Seed a scratch database of `db`, measure every configuration on it; the rows."""
    rows: list[dict[str, Any]] = []
    with scratch_database(db) as url:
        print(f"seeding {options.records:,} records on {db}", flush=True)
        run = Run(options.load, prepare(url, options.records, folder), folder, url)
        try:
            for processes in options.processes:
                group, extra = _process_group(run, db, processes, options, with_locust)
                rows += group + extra
                with_locust = with_locust and not extra  # one locust row a run
        finally:
            # The nodes' coherence table for a PostgreSQL URL lives in /dev/shm and outlives them.
            if db == "postgres":
                shared_slots_path(url).unlink(missing_ok=True)
    return rows


# ---------------------------------------------------------------------------------------------- reporting

_HEADER = [
    "database",
    "processes",
    "caches",
    "load",
    "req/s",
    "p50",
    "p99",
    "errors",
    "nginx req/s",
    "ratio",
    "½-peak req/s",
    "p99 at ½-peak",
    "answered by L1 / L2 / store",
    "per process",
]


def _answers(hits: dict[str, Any]) -> tuple[str, str]:
    counts = f"{hits['l1_hits']:,} / {hits['l2_hits']:,} / {hits['store_reads']:,}"
    per_process = list(hits["per_process"].values())
    total = max(sum(per_process), 1)
    return counts, " / ".join(f"{answers / total:.0%}" for answers in per_process)


def _cells(row: dict[str, Any]) -> list[str]:
    config = row["config"]
    counts, split = _answers(row["hits"])
    common = [config["db"], str(config["processes"]), config["layers"]]
    figures = [f"{row['rps']:,.0f}", f"{row['p50_ms']:.2f} ms", f"{row['p99_ms']:.2f} ms", str(row["errors"])]
    if "label" in row:
        return [*common, row["label"], *figures, "", "", "", "", counts, split]
    return [
        *common,
        "wrk",
        *figures,
        f"{row['reference_rps']:,.0f}",
        f"{row['ratio']:.2f}",
        f"{row['half_rate_rps']:,.0f}",
        f"{row['half_rate_p99_ms']:.2f} ms",
        counts,
        split,
    ]


def table(rows: list[dict[str, Any]]) -> str:
    """The rows as a Markdown table."""
    lines = [_HEADER, ["---"] * len(_HEADER), *(_cells(row) for row in rows)]
    return "\n".join("| " + " | ".join(cells) + " |" for cells in lines)


def write_results(
    document: dict[str, Any], stamp: datetime, name: str = SCENARIO, folder: Path = RESULTS
) -> Path:
    """`document` as `folder/NAME-<UTC>.json`."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}-{stamp:%Y%m%dT%H%M%SZ}.json"
    partial = path.with_suffix(".tmp")  # renamed when complete: a reader never sees half a file
    partial.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    partial.rename(path)
    return path


def _problems(rows: list[dict[str, Any]]) -> list[str]:
    found = []
    for row in rows:
        config = row["config"]
        where = f"{config['db']}, {config['processes']} process(es), {config['layers']}"
        found += [f"{where}: {problem}" for problem in row["claim_problems"]]
        found += [f"{where}: {row['errors']} wrk errors"] if row["errors"] else []
        found += [f"{where}: node log: {line}" for line in row.get("node_log", [])[:5]]
    return found


# ---------------------------------------------------------------------------------------------- command


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--db", nargs="+", choices=["sqlite", "postgres"], default=["sqlite", "postgres"])
    parser.add_argument("--processes", nargs="+", type=int, choices=[1, 2], default=[1, 2])
    layers = ["l1", "l2", "l1,l2", "off"]
    parser.add_argument("--layers", nargs="+", choices=layers, default=["l1", "l2", "off"])
    parser.add_argument("--seconds", type=int, default=9, help="each wrk measurement")
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--locust", action="store_true", help="also run locust against the first l1 node")
    parser.add_argument("--locust-seconds", type=int, default=15)
    return parser.parse_args()


def main() -> None:
    args = _arguments()
    options = Options(
        processes=args.processes,
        layers=args.layers,
        records=args.records,
        load=WrkLoad(args.threads, args.connections, args.seconds),
        locust_seconds=args.locust_seconds if args.locust else None,
    )
    started = datetime.now(UTC)
    # Anything else busy on the machine skews every figure: the load averages say whether it was idle.
    load_before = os.getloadavg()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="idnode-hot-") as scratch:
        for db in args.db:
            folder = Path(scratch) / db
            folder.mkdir()
            rows += run_database(db, options, folder, args.locust and not any("label" in r for r in rows))
    machine = describe()
    for row in rows:
        row["machine"] = machine
    document = {
        "scenario": SCENARIO,
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine,
        "code": source_digest(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "records": args.records,
        "values_per_record": list(VALUES),
        "workload": f"Zipf s={ZIPF_S} over the records, {SAMPLES:,} sampled paths picked uniformly "
        f"(python -m benchmarks.workload PATHS --records {args.records})",
        "results": rows,
    }
    path = write_results(document, started)
    print(table(rows))
    for problem in _problems(rows):
        print(f"problem: {problem}")
    print(f"wrk: {rows[0]['wrk_command'] if rows else ''}")
    print(f"results: {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")


if __name__ == "__main__":
    main()
