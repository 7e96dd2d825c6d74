"""CPU used by the processes of a run — the load generator's and the node's — read from /proc.

A sampler thread reads, every half second, the CPU time of every process of some process groups (each
child of a run leads its own group) and the machine's busy time. Sampling, rather than reading before and
after, lets a window leave out start-up and shut-down, and counts processes that exit before the end (locust's
workers do, right after the run).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

TICKS = os.sysconf("SC_CLK_TCK")
PERIOD = 0.5  # seconds between samples
SATURATED = 0.8  # of a core: an event loop this busy has requests waiting for it, it limits the run


def _stat(pid_dir: Path) -> tuple[int, float] | None:
    """(process group, CPU seconds) of one process, or None when it has gone."""
    try:
        text = (pid_dir / "stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: the fields that matter follow the last ')'.
    rest = text.rpartition(")")[2].split()
    return int(rest[2]), (int(rest[11]) + int(rest[12])) / TICKS


def group_cpu(groups: Mapping[str, int]) -> dict[str, dict[int, float]]:
    """For each named process group: pid -> CPU seconds (user + system) of every process in it."""
    wanted = {pgid: name for name, pgid in groups.items()}
    found: dict[str, dict[int, float]] = {name: {} for name in groups}
    for pid_dir in Path("/proc").iterdir():
        if not pid_dir.name.isdigit():
            continue
        stat = _stat(pid_dir)
        if stat is not None and stat[0] in wanted:
            found[wanted[stat[0]]][int(pid_dir.name)] = stat[1]
    return found


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of all cores since boot, from the first line of /proc/stat."""
    ticks = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    idle = ticks[3] + ticks[4]  # idle and iowait
    return (sum(ticks) - idle) / TICKS, sum(ticks) / TICKS


def process_group(pid: int) -> int:
    stat = _stat(Path(f"/proc/{pid}"))
    if stat is None:
        raise RuntimeError(f"process {pid} has gone")
    return stat[0]


@dataclass(frozen=True)
class Sample:
    at: float  # time.time(), comparable with locust's marks
    groups: dict[str, dict[int, float]]
    busy: float
    total: float


@dataclass
class Sampler:
    """Samples `groups` (name -> process group id) from `with` to its end; `add` names more groups."""

    groups: dict[str, int]
    samples: list[Sample] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def add(self, name: str, pgid: int) -> None:
        self.groups = {**self.groups, name: pgid}  # a new dict: the thread may be iterating the old one

    def sample(self) -> None:
        self.samples.append(Sample(time.time(), group_cpu(self.groups), *machine_cpu()))

    def _loop(self) -> None:
        while not self._stop.wait(PERIOD):
            self.sample()

    def __enter__(self) -> Sampler:
        self.sample()
        self._thread = threading.Thread(target=self._loop, name="cpu-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.sample()

    def usage(self, start: float, end: float) -> dict[str, Any]:
        """CPU use, in cores, between the samples nearest inside [start, end]: per group (all of it and
        per process; a process counts over the part of the window it lived through) and the machine's."""
        inside = [s for s in self.samples if start <= s.at <= end] or self.samples[-2:]
        first, last = inside[0], inside[-1]
        seconds = max(last.at - first.at, 1e-9)
        result: dict[str, Any] = {"window_s": round(seconds, 1)}
        for name in self.groups:
            per_pid = _per_pid(inside, name)
            result[f"{name}_cores"] = round(sum(per_pid.values()) / seconds, 2)
            result[f"{name}_per_process"] = {
                str(pid): round(cpu / seconds, 2) for pid, cpu in per_pid.items()
            }
        result["machine_busy_cores"] = round((last.busy - first.busy) / seconds, 2)
        result["machine_cores"] = round((last.total - first.total) / seconds)
        return result


def _per_pid(samples: list[Sample], group: str) -> dict[int, float]:
    """CPU seconds each process of `group` used, from the first to the last of `samples` it was in."""
    first: dict[int, float] = {}
    last: dict[int, float] = {}
    for sample in samples:
        for pid, cpu in sample.groups.get(group, {}).items():
            first.setdefault(pid, cpu)
            last[pid] = cpu
    return {pid: last[pid] - first[pid] for pid in sorted(first)}
