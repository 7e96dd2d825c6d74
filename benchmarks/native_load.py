"""Building and running hdlload (benchmarks/native/hdlload.c), the load generator of the native Handle
protocol over UDP and TCP, what wrk is for HTTP; and reading the JSON line it prints."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .services import ROOT
from .wrk import shown

SOURCE = "benchmarks/native/hdlload.c"  # relative to ROOT, where hdlload runs, so that commands stay short
BINARY = "benchmarks/.build/hdlload"
_CFLAGS = ["-O2", "-Wall", "-Wextra", "-pthread"]
_SLACK_S = 30  # beyond the run's seconds before a hung hdlload is killed


def build() -> Path:
    """The compiled hdlload, compiled anew when its source is newer than the binary."""
    source, binary = ROOT / SOURCE, ROOT / BINARY
    if binary.exists() and binary.stat().st_mtime >= source.stat().st_mtime:
        return binary
    binary.parent.mkdir(parents=True, exist_ok=True)
    (binary.parent / ".gitignore").write_text("*\n")  # the folder is a cache: git never sees it
    # Compiled beside and renamed over: a concurrent run never executes a half-written binary.
    fd, partial = tempfile.mkstemp(dir=binary.parent, prefix="hdlload.")
    os.close(fd)
    try:
        done = subprocess.run(["gcc", *_CFLAGS, "-o", partial, str(source)], capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"gcc could not compile {SOURCE}: {done.stderr.strip()}")
        os.replace(partial, binary)
    finally:
        Path(partial).unlink(missing_ok=True)
    return binary


@dataclass(frozen=True)
class NativeResult:
    """What hdlload printed. `rps` counts answers of code 1 only; `errors` are answers of other codes
    than 1 and 100 plus protocol and transport errors; `lost` were unanswered within the timeout."""

    mode: str
    seconds: float
    sent: int
    answers: int
    ok: int
    not_found: int
    errors: int
    lost: int
    late: int
    parts: int
    reconnects: int
    rps: float
    p50_ms: float
    p99_ms: float
    codes: dict[str, int]


def parse(output: str) -> NativeResult:
    figures: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    names = NativeResult.__dataclass_fields__
    return NativeResult(**{name: value for name, value in figures.items() if name in names})


@dataclass(frozen=True)
class NativeLoad:
    """One hdlload command line: UDP or TCP, sockets, requests in flight on each, duration, threads."""

    mode: Literal["udp", "tcp"]
    connections: int
    depth: int
    seconds: float
    threads: int = 1

    def command(self, host: str, port: int, handles_file: Path, *, minor: int = 10) -> list[str]:
        """RESOLUTION requests of the handles in `handles_file`, one a line, taken round robin."""
        target = ["--host", host, "--port", str(port), "--handles", str(handles_file)]
        load = ["--connections", str(self.connections), "--depth", str(self.depth)]
        load += ["--threads", str(self.threads), "--seconds", f"{self.seconds:g}"]
        return [BINARY, f"--{self.mode}", *target, *load, "--minor", str(minor)]

    def run(self, host: str, port: int, handles_file: Path) -> NativeResult:
        build()
        return run_native(self.command(host, port, handles_file), timeout=self.seconds + _SLACK_S)


def run_native(command: list[str], *, timeout: float) -> NativeResult:
    """Run a command made by `NativeLoad.command`; the figures hdlload reports."""
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{shown(command)} failed ({done.returncode}): {done.stderr.strip()}")
    return parse(done.stdout)
