"""`python -m benchmarks run soak`: the mix for ten minutes at 80 % of its peak, and the node's memory.

In one run against one node: locust runs supply_chain_mix flat out for a short while (its peak: the GETs,
coils created and updates a second it reached); then the paced users of supply_chain_day keep 80 % of each of
those rates for the soak's duration, while every node process's resident memory and its event loop's task
count (`idnode_event_loop_tasks`: requests in flight and queued work) are read every few seconds.

A soak passes with no errors, resident memory at the end at most 10 % above what it was once warmed up, and
no task count growing (a queue the node does not keep up with); the curve goes into the results file and a
PNG beside it.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .cpu import group_cpu
from .day import READ_CEILING, identifiers, measured_once
from .harness import Bench, Node, Options
from .phases import locust_phase
from .report import append_row
from .resolve_hot import write_results
from .runs import closing
from .scenarios import Scenario
from .scenarios.inputs import DAY_RATES, DAY_USERS
from .services import process_metrics

SHARE = 0.8  # of the mix's peak, each kind of request
CLASSES = ("DayReader", "MesLine", "DayUpdate")  # the mix's GETs, batchCreates and updates, paced
PEAK_USERS = 20  # supply_chain_mix's default
WARM_UP = 0.2  # of the soak: caches filling, pools opening, the allocator finding its size
GROWTH_LIMIT = 0.10  # resident memory at the end over what it was once warmed up, at most
TASKS_SLACK = 32  # tasks in flight vary with the moment of the reading: a queue grows past this
PAGE = os.sysconf("SC_PAGE_SIZE")
GET, BATCH, UPDATE = "mix: GET /api/handles", "mix: batchCreate", "mix: update"


def peak_seconds(seconds: int) -> int:
    return max(3, min(30, seconds // 10))


def sample_every(seconds: int) -> float:
    return max(1.0, min(10.0, seconds / 60))


def rss_bytes(pid: int) -> int | None:
    """Resident memory of one process (its second field of /proc/PID/statm), None when it has gone."""
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return None


@dataclass
class MemoryCurve:
    """Resident memory of every process of the node's group and each worker's task count, sampled by a
    thread while the soak runs."""

    node: Node
    workers: int
    every: float
    points: list[dict[str, Any]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def _sample(self, started: float) -> None:
        pids = group_cpu({"node": self.node.sampler.groups["node"]})["node"]
        rss = {str(pid): size for pid in sorted(pids) if (size := rss_bytes(pid)) is not None}
        tasks = {
            str(pid): int(values.get("event_loop_tasks", 0))
            for pid, values in process_metrics(self.node.base, self.workers).items()
        }
        self.points.append({"s": round(time.time() - started, 1), "rss": rss, "tasks": tasks})

    def _loop(self, started: float) -> None:
        while not self._stop.wait(self.every):
            self._sample(started)

    def during(self, run: Any) -> Any:
        """`run()`, with the curve sampled from its start to its end."""
        started = time.time()
        self._sample(started)
        thread = threading.Thread(target=self._loop, args=(started,), name="memory-curve", daemon=True)
        thread.start()
        try:
            return run()
        finally:
            self._stop.set()
            thread.join()
            self._sample(started)


def soak_rates(peak: dict[str, Any], coils_per_s: float, locust_processes: int) -> dict[str, float]:
    """80 % of each rate the mix reached flat out (readers at most what locust paces well); a rate set in
    the environment (`inputs.DAY_RATES`) wins."""
    rows = peak["per_request"]
    rates = {
        "DayReader": min(SHARE * rows[GET]["rps"], READ_CEILING * locust_processes),
        "MesLine": SHARE * coils_per_s,
        "DayUpdate": SHARE * rows[UPDATE]["rps"],
    }
    for name in CLASSES:
        if os.environ.get(DAY_RATES[name]):
            rates[name] = float(os.environ[DAY_RATES[name]])
    return {name: max(round(rate, 1), 0.1) for name, rate in rates.items()}


def _phases(bench: Bench, node: Node, seconds: int) -> dict[str, Any]:
    before, short = identifiers(node), peak_seconds(seconds)
    print(f"locust: the mix flat out, {PEAK_USERS} users for {short} s", flush=True)
    peak = locust_phase(bench, node, PEAK_USERS, short, "peak", classes="SupplyChainMix")
    coils = (identifiers(node) - before) / short
    rates = soak_rates(peak, coils, bench.options.locust_processes)
    env = {DAY_RATES[name]: str(rate) for name, rate in rates.items()}
    users = sum(DAY_USERS[name] for name in CLASSES)
    curve = MemoryCurve(node, bench.options.workers, sample_every(seconds))
    print(f"locust: the soak, {rates} for {seconds} s", flush=True)
    before = identifiers(node)
    soak = curve.during(
        lambda: locust_phase(bench, node, users, seconds, "soak", classes=" ".join(CLASSES), env=env)
    )
    return {
        "peak": peak,
        "peak_coils_per_s": round(coils),
        "rates": rates,
        "soak": soak,
        "soak_coils_per_s": round((identifiers(node) - before) / seconds),
        "curve": curve.points,
    }


def _total(point: dict[str, Any], name: str) -> int:
    return int(sum(point[name].values()))


def conclusions(result: dict[str, Any], seconds: int) -> None:
    """Memory growth after warm-up and the task counts, against their limits; the soak's errors."""
    curve = result["curve"]
    warmed = next((p for p in curve if p["s"] >= WARM_UP * seconds), curve[-1])
    last = curve[-1]
    result["rss_warm_mb"] = round(_total(warmed, "rss") / 2**20, 1)
    result["rss_end_mb"] = round(_total(last, "rss") / 2**20, 1)
    result["rss_growth"] = round(_total(last, "rss") / max(_total(warmed, "rss"), 1) - 1, 3)
    after = [p for p in curve if p["s"] >= warmed["s"]]
    third = max(1, len(after) // 3)
    result["tasks_early_max"] = max(_total(p, "tasks") for p in after[:third])
    result["tasks_late_max"] = max(_total(p, "tasks") for p in after[-third:])
    soak = result["soak"]
    result["soak_rps"] = {name: row["rps"] for name, row in soak["per_request"].items()}
    result["per_request"] = {f"peak, {k}": v for k, v in result["peak"]["per_request"].items()} | {
        f"soak, {k}": v for k, v in soak["per_request"].items()
    }
    result["errors"] = result["peak"]["errors"] + soak["errors"]
    result["failures"] = result["peak"]["failures"] + soak["failures"]


def _limits(result: dict[str, Any]) -> list[str]:
    found = []
    if result["rss_growth"] > GROWTH_LIMIT:
        found.append(
            f"resident memory grew {result['rss_growth']:.1%} after warm-up "
            f"({result['rss_warm_mb']} MB to {result['rss_end_mb']} MB; at most {GROWTH_LIMIT:.0%})"
        )
    if result["tasks_late_max"] > 2 * result["tasks_early_max"] + TASKS_SLACK:
        found.append(
            f"event loop tasks grew from at most {result['tasks_early_max']} to {result['tasks_late_max']}"
        )
    return found


def curve_png(result: dict[str, Any], path: Path) -> Path:
    """Resident memory of each node process and the task count over the soak."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display; chosen here, not on import
    import matplotlib.pyplot as plt

    curve = result["curve"]
    at = [point["s"] for point in curve]
    figure, (memory, tasks) = plt.subplots(2, 1, sharex=True, figsize=(7, 6))
    figure.suptitle(f"soak: {result['command']}\n{result['machine']}", fontsize=8)
    for pid in curve[0]["rss"]:
        memory.plot(at, [p["rss"].get(pid, 0) / 2**20 for p in curve], label=f"process {pid}")
    memory.axvline(WARM_UP * result["config"]["seconds"], color="grey", linestyle=":", label="warmed up")
    memory.set_ylabel("resident memory (MB)")
    memory.set_ylim(bottom=0)
    memory.legend(fontsize=7)
    tasks.plot(at, [_total(p, "tasks") for p in curve], label="event loop tasks, all workers")
    tasks.set_ylabel("tasks")
    tasks.set_xlabel("seconds into the soak")
    tasks.set_ylim(bottom=0)
    tasks.legend(fontsize=7)
    for axis in (memory, tasks):
        axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def run_soak(scenario: Scenario, options: Options, seconds: int, output: Path) -> Path:
    """The soak, measured once; the results file (and its PNG), with a row added to `output/RESULTS.md`."""
    result, started = measured_once(scenario, options, seconds, _phases)
    conclusions(result, seconds)
    result["bottleneck"], result["bottleneck_reason"] = "paced", "80 % of the mix's peak, every class"
    closing(result)
    result["problems"] += _limits(result)
    result["png"] = f"{scenario.name}-{started:%Y%m%dT%H%M%SZ}.png"  # beside the results file
    path = write_results(result, started, scenario.name, output / "results")
    curve_png(result, path.parent / result["png"])
    append_row(row(result, path), output / "RESULTS.md", COLUMNS, INTRO)
    return path


COLUMNS = [
    "UTC",
    "command (`python -m benchmarks …`)",
    "peak GET/s; coils/s; updates/s",
    "soak GET/s; coils/s; updates/s",
    "GET p99 in the soak",
    "errors",
    "RSS warmed up → end (growth, ≤ 10 %)",
    "tasks early → late",
    "results",
]
INTRO = """\
## A soak (`run soak`)

supply_chain_mix flat out for a tenth of the soak (at most 30 s): its peak; then the paced users of
supply_chain_day at 80 % of each of its rates (GETs, coils created, updates) for the soak's duration.
RSS is the resident memory of all the node's processes, once warmed up (a fifth of the way in) and at the end;
tasks are the node's event loop tasks (`idnode_event_loop_tasks`, all workers), the most in the first and in
the last third after warm-up. The memory curve is the PNG beside the results file.

"""


def _rates(rates: list[float | None]) -> str:
    return "; ".join("–" if rate is None else f"{rate:,.0f}" for rate in rates)


def row(result: dict[str, Any], file: Path) -> str:
    peak, soak = result["peak"]["per_request"], result["soak"]["per_request"]
    get = soak.get("day: GET /api/handles", {})
    seconds = result["config"]["seconds"]
    cells = [
        result["started"][:16].replace("T", " "),
        "`" + result["command"].removeprefix("python -m benchmarks ") + "`",
        _rates([peak[GET]["rps"], result["peak_coils_per_s"], peak[UPDATE]["rps"]]),
        _rates([get.get("rps"), result["soak_coils_per_s"], soak.get("day: update", {}).get("rps")]),
        f"{get.get('p99_ms', 0):,.0f} ms",
        str(result["errors"]),
        f"{result['rss_warm_mb']:,.0f} → {result['rss_end_mb']:,.0f} MB ({result['rss_growth']:+.1%})",
        f"{result['tasks_early_max']} → {result['tasks_late_max']}",
        f"[{file.name}](results/{file.name}), [curve]({'results/' + result['png']}) ({seconds} s)",
    ]
    return "| " + " | ".join(cells) + " |"
