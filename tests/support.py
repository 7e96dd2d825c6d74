"""Helpers for tests that use real services: throw-away PostgreSQL databases and node processes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx

from resolver.cache.coherence import shared_slots_path

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("IDNODE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def free_port() -> int:
    """A port free for TCP and for UDP alike (a node's native protocol listens on both with one number)."""
    while True:
        with socket.socket() as tcp, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            tcp.bind(("127.0.0.1", 0))
            port = int(tcp.getsockname()[1])
            try:
                udp.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


def _database_url(name: str) -> str:
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    return f"{base}/{name}"


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_URL, timeout=10)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def create_database() -> tuple[str, str]:
    """A new, empty PostgreSQL database for this test run: its name and URL."""
    name = f"idnode_test_{os.getpid()}_{secrets.token_hex(4)}"
    try:
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as exc:
        raise RuntimeError(
            f"PostgreSQL at {PG_ADMIN_URL} is needed by the tests ({exc}); `make test` starts or installs it"
        ) from exc
    return name, _database_url(name)


def drop_database(name: str) -> None:
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    # Nodes without Redis share cache tokens in a file named after the database; it goes with it.
    shared_slots_path(_database_url(name)).unlink(missing_ok=True)


def cli(args: Sequence[str], env: dict[str, str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run `idnode ARGS` as a user would, in its own process."""
    result = subprocess.run(
        [sys.executable, "-m", "cli", *args],
        env={**os.environ, **env},
        cwd=env.get("IDNODE_TEST_CWD", str(ROOT)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"idnode {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


@dataclass
class NodeProcess:
    """`idnode serve` in a child process on a free port."""

    env: dict[str, str]
    workers: int = 1
    port: int = field(default_factory=free_port)
    # The native Handle protocol's UDP and TCP port: a free one of its own, as the HTTP port is (never the
    # default 2641, which nodes of other test runs on this machine would share through SO_REUSEPORT).
    native_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    log: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, log_dir: Path) -> NodeProcess:
        self.log = log_dir / f"node-{self.port}.log"
        args = ["serve", "--port", str(self.port), "--workers", str(self.workers)]
        with self.log.open("ab") as out:
            # A session of its own, so that stopping it reaches the server's worker processes too.
            self.process = subprocess.Popen(
                [sys.executable, "-m", "cli", *args],
                env={**os.environ, "IDNODE_NATIVE_PORT": str(self.native_port), **self.env},
                cwd=str(ROOT),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_ready()
        return self

    def _wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                break
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        log = self.log.read_text() if self.log else ""
        self.stop()
        raise RuntimeError(f"node on port {self.port} did not become ready:\n{log}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop the node and its workers (SIGKILL: as a crash would)."""
        if self.process is None:
            return
        self._signal_group(sig)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self._signal_group(signal.SIGKILL)
            self.process.wait()
        self._signal_group(signal.SIGKILL)  # no worker outlives its server

    def _signal_group(self, sig: int) -> None:
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)
