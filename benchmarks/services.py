"""The child processes of a load run — a node, a private redis-server — and reading the node's /metrics.

Every child runs in its own process group and is stopped when its `with` block ends, whatever happened in
it: a run that fails half-way leaves no node, Redis or nginx behind.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx
import redis

from .machine import free_port

ROOT = Path(__file__).resolve().parents[1]
SYSTEM_REDIS_PORT = 6379  # the machine's own Redis: a run never touches it
DEFAULT_NATIVE_PORT = 2641  # the Handle protocol's own port, which a node takes unless told otherwise
NATIVE_PORT_VARIABLE = "IDNODE_NATIVE_PORT"  # every node here gets a free one (the host is its --host)
_SAMPLE = re.compile(r'^idnode_(\w+)\{pid="(\d+)"\} (\S+)$', re.MULTILINE)

ProcessMetrics = dict[int, dict[str, float]]  # pid -> metric name (without `idnode_`) -> value
STARTED: list[int] = []  # every child started here: each leads its own session, whose id is its pid


def stop(process: subprocess.Popen[bytes], timeout: float = 20) -> None:
    """SIGTERM to the leader, so that it shuts its workers down in order; SIGKILL to its whole group
    after `timeout`, and to whatever of the group outlived the leader."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


@contextmanager
def child(
    command: Sequence[str], *, log: Path, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """`command` in a new process group, its output in `log`; stopped with its children afterwards."""
    with log.open("ab") as out:
        process = subprocess.Popen(
            list(command), stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd, start_new_session=True
        )
    STARTED.append(process.pid)
    try:
        yield process
    finally:
        stop(process)


def wait_until_up(url: str, *, process: subprocess.Popen[bytes] | None = None, timeout: float = 60) -> None:
    """Until `url` answers 200; fails at once if `process` (the server) has exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server for {url} exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up within {timeout}s")


def free_native_port(attempts: int = 50) -> int:
    """A loopback port free for TCP and for UDP, never the protocol's 2641: the native listeners bind both."""
    for _ in range(attempts):
        port = free_port()
        if port == DEFAULT_NATIVE_PORT:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            try:
                udp.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError(f"no port free for both TCP and UDP in {attempts} tries")


def node_env(
    database_url: str, layers: str, redis_url: str | None, *, write_processes: int = 0
) -> dict[str, str]:
    """The environment of a node: this one's, minus any IDNODE_* it has, plus the run's settings; its native
    Handle protocol listeners on a free port of their own (`NATIVE_PORT_VARIABLE`), never the default 2641."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("IDNODE_")}
    env |= {"IDNODE_DATABASE_URL": database_url, "IDNODE_CACHE_LAYERS": layers, "IDNODE_LOG_LEVEL": "warning"}
    env["IDNODE_WRITE_PROCESSES"] = str(write_processes)
    env[NATIVE_PORT_VARIABLE] = str(free_native_port())
    if redis_url is not None:
        env["IDNODE_REDIS_URL"] = redis_url
    return env


@contextmanager
def node_serving(env: Mapping[str, str], workers: int, log: Path) -> Iterator[str]:
    """`idnode serve --workers N` on a free port, ready; yields its base URL."""
    port = free_port()
    command = [sys.executable, "-m", "cli", "serve", "--port", str(port), "--workers", str(workers)]
    with child(command, log=log, env=env, cwd=ROOT) as process:
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_up(f"{base}/healthz", process=process)
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}; its log:\n{log.read_text(errors='replace')[-3000:]}") from None
        yield base


def _wait_for_redis(port: int, process: subprocess.Popen[bytes], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"redis-server on port {port} exited with {process.returncode}")
        with suppress(redis.RedisError), redis.Redis(port=port, socket_connect_timeout=1) as client:
            client.ping()
            return
        time.sleep(0.05)
    raise RuntimeError(f"redis-server on port {port} did not come up")


@contextmanager
def redis_serving(folder: Path) -> Iterator[str]:
    """A private, empty redis-server (no persistence) on a free port; yields its URL."""
    port = free_port()
    if port == SYSTEM_REDIS_PORT:
        raise RuntimeError("refusing to start a Redis on the system Redis's port")
    folder.mkdir(parents=True, exist_ok=True)
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    command += ["--dir", str(folder), "--daemonize", "no"]
    with child(command, log=folder / "redis.log") as process:
        _wait_for_redis(port, process)
        yield f"redis://127.0.0.1:{port}/0"


def redis_keys(url: str) -> int:
    with redis.Redis.from_url(url) as client:
        return int(client.dbsize())


def process_metrics(base_url: str, processes: int, attempts: int = 500) -> ProcessMetrics:
    """Every node process's counters and gauges.

    /metrics answers for the process that took the connection, so each try opens a new connection and the
    kernel hands it to one of the workers; tries go on until all `processes` have answered.
    """
    seen: ProcessMetrics = {}
    for _ in range(attempts):
        text = httpx.get(f"{base_url}/metrics", timeout=10).text
        for name, pid, value in _SAMPLE.findall(text):
            seen.setdefault(int(pid), {})[name] = float(value)
        if len(seen) >= processes:
            return seen
    raise RuntimeError(f"/metrics answered from {len(seen)} of {processes} processes in {attempts} tries")


def counted(before: ProcessMetrics, after: ProcessMetrics, name: str) -> dict[int, int]:
    """How much counter `name` grew in each process between two readings (0 where the node lacks it)."""
    return {pid: int(values.get(name, 0) - before.get(pid, {}).get(name, 0)) for pid, values in after.items()}


def leftovers() -> list[str]:
    """Processes still alive in the sessions of the children started here (`pgrep -s`): none, normally."""
    if not STARTED:
        return []
    found = subprocess.run(
        ["pgrep", "-a", "-s", ",".join(map(str, STARTED))], capture_output=True, text=True, check=False
    )
    return found.stdout.splitlines()
