"""`python -m benchmarks run resolve_remote`: what resolving a handle of another node costs, first and cached,
against the node's own local path, in one run.

Three nodes on loopback, each its own process and database (benchmarks/hierarchy.py): the top-level node `88`,
the origin `88.901` and the asking node `88.902`, both seeded with the same records (the same suffixes and
values, each under its own enterprise). Everything is measured with wrk through 88.902 (`-t1 -c32`):

- local hot: resolve_hot's Zipf GETs of 88.902's own handles, its caches warm;
- cached remote: the same Zipf GETs of 88.901's handles, once every one of them has been asked at 88.902
  (its upstream stage keeps the answers by their TTL): 88.901 answers none of them during the measurement;
- first remote: GETs of 88.901's handles the Zipf samples never name, each once, in a random order
  (benchmarks/in_order.lua): each goes to 88.901, one HTTP request from 88.902 per handle (and one from 88
  to 88.901 where 88.902 sends it through its parent);
- first remote under 88.901: the same for handles under the node prefix itself (88.901/…);
- local cold: the same suffixes' GETs of 88.902's own handles on 88.902 started again with caches off;
- origin cold: the first remote paths straight at 88.901, started again with caches off.

88.901's counters check what answered: all of the first resolutions, none of the cached ones. The figures,
the checks and the RESULTS.md row: benchmarks/remote_report.py.
"""

from __future__ import annotations

import os
import random
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from .cpu import group_cpu, machine_cpu
from .harness import Options, node_group, wrong_answers
from .hierarchy import ASKING, ORIGIN, TOP, Member, databases, init_top, node, seeded_member, wait_homed
from .remote_report import COLUMNS, INTRO, answers, conclusions, row, shortfalls
from .remote_report import command as run_command
from .report import append_row
from .resolve_hot import Config, Run, Workload, log_lines, served, warm, write_results
from .runs import closing, run_context
from .scenarios import Scenario
from .services import process_metrics
from .workload import every_path, handle_of, write_paths, zipf_paths
from .wrk import WrkLoad, run_wrk, shown

IN_ORDER = "benchmarks/in_order.lua"  # relative to the root, where wrk runs
SEED = 2641
WARM_PASSES = 20  # at most; each asks every Zipf-named handle of 88.901 at 88.902 once
WARM_BATCH = 200  # handles a warm-up POST /api/resolve: at most this many requests to 88.901 at once
PROBE_S = 2  # wrk's first seconds, on handles kept apart: connections and 88.902's pool to 88.901 opened
MARGIN = 1.3  # of the probe's rate: the never-asked handles must outlast the measurement
MIN_FIRST = 500  # never-asked handles a run needs at the least
CHECKED = 20  # first resolutions compared with the origin's answers afterwards


@dataclass(frozen=True)
class Watched:
    """A node a measurement reads the counters and CPU of."""

    base: str
    workers: int
    group: int  # its process group: `idnode serve` and its workers


def watched(base: str, workers: int) -> Watched:
    return Watched(base, workers, node_group(base, workers))


@dataclass(frozen=True)
class Tree:
    """The three nodes serving: measurements through `asking` read them all."""

    top: Watched
    origin: Watched
    asking: Watched

    @property
    def nodes(self) -> dict[str, Watched]:
        return {"asking": self.asking, "origin": self.origin, "top": self.top}


@dataclass(frozen=True)
class Files:
    """What wrk asks for in each measurement."""

    local_hot: Workload  # 88.902's own handles, Zipf
    remote_hot: Workload  # 88.901's handles, the same ranks
    probe: list[str]  # never-asked handles of 88.901's enterprise, for the probe
    first: list[str]  # never-asked handles of 88.901's enterprise, measured
    direct_probe: list[str]  # handles under 88.901 itself, for the probe
    direct_first: list[str]  # handles under 88.901 itself, measured
    folder: Path


def _workload(handles: list[str], file: Path) -> Workload:
    paths = zipf_paths(handles)
    return Workload(write_paths(paths, file), list(dict.fromkeys(handle_of(p) for p in paths)), "")


def files(asking: Member, origin: Member, folder: Path) -> Files:
    local, remote = (
        _workload(asking.handles, folder / "local-hot.txt"),
        _workload(origin.handles, folder / "remote-hot.txt"),
    )
    asked = set(remote.distinct) | {handle for handle, _ in origin.samples}
    fresh = [handle for handle in origin.handles if handle not in asked]
    if len(fresh) < MIN_FIRST:
        raise RuntimeError(
            f"{len(fresh):,} handles of {len(origin.handles):,} are never named by the Zipf samples: "
            f"first resolutions need {MIN_FIRST:,} (seed 10,000 records or more)"
        )
    rng = random.Random(SEED)
    rng.shuffle(fresh)
    direct = list(origin.direct)
    rng.shuffle(direct)
    cut, direct_cut = len(fresh) // 5, len(direct) // 5
    return Files(local, remote, fresh[:cut], fresh[cut:], direct[:direct_cut], direct[direct_cut:], folder)


def local_twin(handle: str) -> str:
    """88.902's handle of the same suffix as 88.901's `handle` (both seed the same records)."""
    return f"{ASKING}.1/{handle.partition('/')[2]}"


def paths_file(handles: list[str], folder: Path, name: str) -> Path:
    return write_paths(every_path(handles), folder / f"{name}.txt")


def in_order(load: WrkLoad, base: str, paths: Path, seconds: int) -> list[str]:
    """wrk GETting the lines of `paths` in turn (one thread: one counter)."""
    options = ["-t1", f"-c{load.connections}", f"-d{seconds}s", "--latency", "-s", IN_ORDER]
    return ["wrk", *options, base, "--", str(paths)]


def _cores(before: dict[int, float], after: dict[int, float], seconds: float) -> float:
    return round(sum(cpu - before[pid] for pid, cpu in after.items() if pid in before) / seconds, 2)


def measure(command: list[str], nodes: dict[str, Watched]) -> dict[str, Any]:
    """One wrk run; what answered at each node of `nodes`, and the CPU each used."""
    before = {name: process_metrics(n.base, n.workers) for name, n in nodes.items()}
    groups = {name: n.group for name, n in nodes.items()}
    cpu, (busy, total), began = group_cpu(groups), machine_cpu(), time.monotonic()
    result = run_wrk(command)
    seconds = time.monotonic() - began
    cpu_after, (busy_after, total_after) = group_cpu(groups), machine_cpu()
    hits = {name: served(before[name], process_metrics(n.base, n.workers)) for name, n in nodes.items()}
    machine = (busy_after - busy) / max(total_after - total, 1e-9) * (os.cpu_count() or 1)
    return asdict(result) | {
        "hits": hits,
        "cores": {name: _cores(cpu[name], cpu_after[name], seconds) for name in nodes},
        "machine_busy_cores": round(machine, 2),
        "command": shown(command),
    }


def warm_remote(asking: Watched, origin: Watched, handles: list[str]) -> int:
    """Every one of `handles` asked at 88.902 until a pass of them all sends 88.901 nothing (each worker of
    88.902 has its own upstream answers); the passes it took."""
    for passes in range(1, WARM_PASSES + 1):
        before = process_metrics(origin.base, origin.workers)
        for first in range(0, len(handles), WARM_BATCH):
            # A new connection each call (no shared client): the kernel picks a worker of 88.902 for each.
            batch = {"handles": handles[first : first + WARM_BATCH]}
            httpx.post(f"{asking.base}/api/resolve", json=batch, timeout=60).raise_for_status()
        if answers(served(before, process_metrics(origin.base, origin.workers))) == 0:
            return passes
    raise RuntimeError(f"88.902 still asked 88.901 after {WARM_PASSES} passes of the Zipf handles")


def same_answers(asking: str, origin: str, handles: list[str]) -> list[str]:
    """How 88.902's answers for `handles` differ from 88.901's own (nothing, normally)."""
    problems = []
    for handle in handles:
        here, there = (httpx.get(f"{base}/api/handles/{handle}", timeout=10) for base in (asking, origin))
        if here.status_code != 200 or here.json().get("values") != there.json().get("values"):
            problems.append(f"GET {handle} at 88.902: HTTP {here.status_code} {here.text[:200]}")
    return problems


# ---------------------------------------------------------------------------------------------- the phases


def cached_phase(
    tree: Tree, members: tuple[Member, Member], fs: Files, options: Options, redis_url: str | None
) -> dict[str, Any]:
    """Answers checked, 88.902's caches warmed; local hot, then cached remote, the same wrk command."""
    asking, origin, nodes = tree.asking, tree.origin, tree.nodes
    asking_db, origin_db = members
    if problems := wrong_answers(asking.base, asking_db.samples + origin_db.samples):
        raise RuntimeError("wrong answers at 88.902 before any load: " + "; ".join(problems))
    load = options.wrk
    print("warming 88.902's caches: its own Zipf handles, then 88.901's", flush=True)
    config = Config(options.db, options.workers, options.layers)
    passes = warm(asking.base, config, Run(load, fs.local_hot, fs.folder, asking_db.url), redis_url)
    remote_passes = warm_remote(asking, origin, fs.remote_hot.distinct)
    run_wrk(WrkLoad(1, load.connections, PROBE_S).command(asking.base, fs.remote_hot.paths, seed=99))
    print("wrk: local hot, 88.902's own handles", flush=True)
    local = measure(load.command(asking.base, fs.local_hot.paths), nodes)
    print("wrk: cached remote, 88.901's handles through 88.902", flush=True)
    remote = measure(load.command(asking.base, fs.remote_hot.paths), nodes)
    return {
        "warm_l1_passes": passes,
        "warm_remote_passes": remote_passes,
        "distinct_handles": len(fs.remote_hot.distinct),
        "local_hot": local,
        "remote_cached": remote,
    }


def first_phase(
    tree: Tree, handles: tuple[list[str], list[str]], name: str, fs: Files, load: WrkLoad
) -> dict[str, Any]:
    """Never-asked handles of 88.901 through 88.902, each once: a probe on handles of its own (`handles`:
    probe, measured) sets how long the measurement can last before they run out (a probe through its list
    and round again overstates the rate: the measurement is then shorter than it could be, never longer)."""
    asking, origin, nodes = tree.asking, tree.origin, tree.nodes
    probe_list, first_list = handles
    print(f"wrk: {name}, {PROBE_S} s probe", flush=True)
    probe_file = paths_file(probe_list, fs.folder, f"{name}-probe")
    probe = measure(in_order(load, asking.base, probe_file, PROBE_S), nodes)
    seconds = max(1, min(load.seconds, int(len(first_list) / (max(probe["rps"], 1.0) * MARGIN))))
    print(f"wrk: {name}, {seconds} s over {len(first_list):,} never-asked handles", flush=True)
    first = measure(in_order(load, asking.base, paths_file(first_list, fs.folder, name), seconds), nodes)
    return {
        f"{name}_probe": probe,
        name: first | {"handles": len(first_list), "seconds": seconds},
        # The first of them were asked first: kept at 88.902 since, they show what the measurement got.
        f"{name}_wrong_answers": same_answers(asking.base, origin.base, first_list[:CHECKED]),
    }


def cold_phase(
    target: Watched, name: str, handles: tuple[list[str], list[str]], fs: Files, load: WrkLoad
) -> dict[str, Any]:
    """A node with caches off, GETs of `handles` (probe, measured) in turn as the first resolutions had."""
    probe, measured = handles
    print(f"wrk: {name}, caches off", flush=True)
    run_wrk(in_order(load, target.base, paths_file(probe, fs.folder, f"{name}-probe"), PROBE_S))
    return measure(
        in_order(load, target.base, paths_file(measured, fs.folder, name), load.seconds), {name: target}
    )


def measure_tree(urls: dict[str, str], records: int, options: Options, folder: Path) -> dict[str, Any]:
    """The three nodes set up and seeded, and every measurement of the run."""
    found: dict[str, Any] = {}
    workers, layers, load = options.workers, options.layers, options.wrk
    init_top(urls[TOP])
    with node(urls[TOP], "l1", 1, folder / "top.log", False) as (top, _):
        top_node = watched(top, 1)
        print(f"seeding {records:,} records at each of {ORIGIN} and {ASKING} on {options.db}", flush=True)
        began = time.monotonic()
        origin_db = seeded_member(urls[ORIGIN], ORIGIN, top, records, direct=records // 2)
        asking_db = seeded_member(urls[ASKING], ASKING, top, records)
        found["seeding_s"] = round(time.monotonic() - began, 1)
        fs = files(asking_db, origin_db, folder)
        with node(urls[ORIGIN], layers, workers, folder / "origin.log", options.redis) as (origin_base, _):
            found["homed_s"] = {ORIGIN: wait_homed(top, ORIGIN, origin_base)}
            origin = watched(origin_base, workers)
            log = folder / "asking.log"
            with node(urls[ASKING], layers, workers, log, options.redis) as (asking_base, redis_url):
                found["homed_s"][ASKING] = wait_homed(top, ASKING, asking_base)
                tree = Tree(top_node, origin, watched(asking_base, workers))
                found |= cached_phase(tree, (asking_db, origin_db), fs, options, redis_url)
                found |= first_phase(tree, (fs.probe, fs.first), "remote_first", fs, load)
                direct = (fs.direct_probe, fs.direct_first)
                found |= first_phase(tree, direct, "remote_first_direct", fs, load)
            twins = ([local_twin(h) for h in fs.probe], [local_twin(h) for h in fs.first])
            with node(urls[ASKING], "off", workers, folder / "asking-off.log", False) as (base, _):
                found["local_cold"] = cold_phase(watched(base, workers), "asking", twins, fs, load)
        with node(urls[ORIGIN], "off", workers, folder / "origin-off.log", False) as (base, _):
            found["origin_cold"] = cold_phase(
                watched(base, workers), "origin", (fs.probe, fs.first), fs, load
            )
    found["node_log"] = [
        f"{log.stem}: {line}" for log in sorted(folder.glob("*.log")) for line in log_lines(log)
    ]
    return found


def run_remote(scenario: Scenario, options: Options, seconds: int, output: Path) -> Path:
    """Every measurement in one run; the results file, with a row added to `output/RESULTS.md`."""
    started = datetime.now(UTC)
    options = replace(options, wrk_seconds=seconds)
    config = asdict(options) | {"seconds": seconds, "records": scenario.records}
    result = run_context(scenario, options, started) | {"config": config, "command": run_command(config)}
    with (
        tempfile.TemporaryDirectory(prefix="idnode-resolve_remote-") as folder,
        databases(options.db) as urls,
    ):
        result |= measure_tree(urls, scenario.records, options, Path(folder))
    conclusions(result)
    closing(result)
    result["problems"] += shortfalls(result)
    path = write_results(result, started, scenario.name, output / "results")
    append_row(row(result, path), output / "RESULTS.md", COLUMNS, INTRO)
    return path
