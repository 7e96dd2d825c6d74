"""The CPU sampler that tells which side of a run was the bottleneck, against real processes."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from benchmarks.cpu import Sampler, process_group


@contextmanager
def group(code: str) -> Iterator[int]:
    """A Python process running `code`, leading its own process group; its pid."""
    process = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    try:
        yield process.pid
    finally:
        process.kill()
        process.wait()


def test_a_busy_process_shows_about_a_core_and_an_idle_one_none() -> None:
    with group("while True: pass") as busy, group("import time; time.sleep(60)") as idle:
        assert process_group(busy) == busy
        with Sampler({"busy": busy, "idle": idle}) as sampler:
            time.sleep(2.2)
        usage = sampler.usage(0, time.time())
    assert usage["busy_cores"] > 0.5
    assert usage["idle_cores"] < 0.1
    assert set(usage["busy_per_process"]) == {str(busy)}
    assert usage["machine_busy_cores"] >= usage["busy_cores"] - 0.1
    assert usage["machine_cores"] >= 1


def test_children_of_a_group_are_counted_with_it() -> None:
    spawner = (
        "import subprocess, sys, time\n"
        "subprocess.Popen([sys.executable, '-c', 'while True: pass'])\n"
        "time.sleep(60)\n"
    )
    with group(spawner) as leader, Sampler({"run": leader}) as sampler:
        time.sleep(2.2)
        usage = sampler.usage(0, time.time())
        # The spinning child is killed with its group: os.killpg, as the harness stops its children.
        subprocess.run(["pkill", "-KILL", "-g", str(leader)], check=False)
    assert len(usage["run_per_process"]) == 2
    assert usage["run_cores"] > 0.5
