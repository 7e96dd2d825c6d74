"""The scaling run's picture: requests a second, p99 and CPU against the number of locust users (and of wrk
connections, for the resolve scenarios: the node's own curve, with a generator that is not the limit)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .locust_run import AGGREGATED

CPU_LINES = (
    ("locust_cores", "locust (all processes)"),
    ("node_cores", "node, under locust"),
    ("machine_busy_cores", "machine, under locust"),
)


def _rates(axis: Any, users: list[int], steps: list[dict[str, Any]], wrk: bool) -> None:
    axis.plot(users, [step["rps"] for step in steps], "o-", label="locust")
    if wrk:
        axis.plot(users, [s["wrk"]["wrk_rps"] for s in steps], "s--", label="wrk, as many connections")
    axis.set_ylabel("requests/s")
    axis.legend(fontsize=8)


def _tasks(steps: list[dict[str, Any]]) -> list[str]:
    """The request names of the scenario's tasks (one for the resolve scenarios, four for the mix)."""
    return [name for name in steps[0]["per_request"] if name not in ("login", AGGREGATED)]


def _latencies(axis: Any, users: list[int], steps: list[dict[str, Any]], wrk: bool) -> None:
    for name in _tasks(steps):
        p99 = [step["per_request"].get(name, {}).get("p99_ms") for step in steps]
        axis.plot(users, p99, "o-", label=f"locust: {name}")
    if wrk:
        axis.plot(users, [s["wrk"]["wrk_p99_ms"] for s in steps], "s--", color="tab:purple", label="wrk")
    axis.set_ylabel("p99 (ms), log scale")
    axis.set_yscale("log")  # a GET's milliseconds and a batch's seconds on one axis
    axis.legend(fontsize=8)


def _cpu(axis: Any, users: list[int], steps: list[dict[str, Any]], wrk: bool) -> None:
    for name, label in CPU_LINES:
        axis.plot(users, [step["cpu"][name] for step in steps], "o-", label=label)
    if wrk:
        axis.plot(users, [s["wrk"]["wrk_cpu"]["node_cores"] for s in steps], "s--", label="node, under wrk")
    axis.axhline(steps[0]["cpu"]["machine_cores"], color="grey", linestyle=":", label="cores")
    axis.set_ylabel("CPU (cores)")
    axis.set_xlabel("locust users (wrk connections)" if wrk else "locust users")
    axis.legend(fontsize=7)


def scaling_png(result: dict[str, Any], path: Path) -> Path:
    """Three panels sharing the users axis: req/s, p99, CPU cores."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display; chosen here, not on import
    import matplotlib.pyplot as plt

    steps = result["steps"]
    users = [step["users"] for step in steps]
    wrk = all("wrk" in step for step in steps)
    figure, axes = plt.subplots(3, 1, sharex=True, figsize=(7, 8.5))
    config = result["config"]
    setting = (
        f"{config['db']}, {config['workers']} node process(es), {config['locust_processes']} locust worker(s)"
    )
    figure.suptitle(f"{result['scenario']}: {setting}\n{result['machine']}", fontsize=9)
    for draw, axis in zip((_rates, _latencies, _cpu), axes, strict=True):
        draw(axis, users, steps, wrk)
        if axis.get_yscale() == "linear":
            axis.set_ylim(bottom=0)
        axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
