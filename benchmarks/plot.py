"""The scaling run's picture: requests a second, p99 and CPU against the number of locust users."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def scaling_png(result: dict[str, Any], path: Path) -> Path:
    """Three panels sharing the users axis: req/s (and wrk's capacity, when measured), p99, CPU cores."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display; chosen here, not on import
    import matplotlib.pyplot as plt

    steps = result["steps"]
    users = [step["users"] for step in steps]
    figure, (rate, p99, cpu) = plt.subplots(3, 1, sharex=True, figsize=(7, 8.5))
    config = result["config"]
    setting = (
        f"{config['db']}, {config['workers']} node process(es), {config['locust_processes']} locust workers"
    )
    figure.suptitle(f"{result['scenario']}: {setting}\n{result['machine']}", fontsize=9)
    rate.plot(users, [step["rps"] for step in steps], "o-", label="locust")
    if "wrk_rps" in result:
        rate.axhline(result["wrk_rps"], color="grey", linestyle="--", label="wrk, same node (capacity)")
    rate.set_ylabel("requests/s")
    rate.set_ylim(bottom=0)
    rate.legend(fontsize=8)
    p99.plot(users, [step["p99_ms"] for step in steps], "o-", color="tab:red")
    p99.set_ylabel("p99 (ms), locust")
    p99.set_ylim(bottom=0)
    for name, label in (
        ("locust_cores", "locust (all processes)"),
        ("node_cores", "node"),
        ("machine_busy_cores", "machine"),
    ):
        cpu.plot(users, [step["cpu"][name] for step in steps], "o-", label=label)
    cpu.axhline(steps[0]["cpu"]["machine_cores"], color="grey", linestyle=":", label="cores")
    cpu.set_ylabel("CPU (cores)")
    cpu.set_ylim(bottom=0)
    cpu.set_xlabel("locust users")
    cpu.legend(fontsize=8)
    for axis in (rate, p99, cpu):
        axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
