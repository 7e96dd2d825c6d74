"""Throw-away Redis servers and clusters in child processes, private to the tests that start them."""

from __future__ import annotations

import random
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis

from tests.support import free_port

HOST = "127.0.0.1"
CLUSTER_BUS_OFFSET = 10000  # a cluster node also listens on port + 10000 for the nodes' gossip


def _can_bind(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
        return True


def free_cluster_ports(count: int) -> list[int]:
    """Ports that are free, together with their cluster bus ports, and do not collide with each other."""
    taken: set[int] = set()
    ports: list[int] = []
    for _ in range(1000):
        if len(ports) == count:
            return ports
        # Below 50000 so that port + 10000 stays a valid port, above 20000 to keep clear of common services.
        port = random.randint(20000, 50000)
        bus = port + CLUSTER_BUS_OFFSET
        if taken.isdisjoint({port, bus}) and _can_bind(port) and _can_bind(bus):
            ports.append(port)
            taken |= {port, bus}
    raise RuntimeError(f"found no {count} free port pairs for Redis cluster nodes")


def _server_pid(port: int) -> int | None:
    try:
        with redis.Redis(host=HOST, port=port, socket_timeout=1, socket_connect_timeout=1) as client:
            return int(client.info("server")["process_id"])
    except redis.RedisError:
        return None


@dataclass
class RedisServer:
    """`redis-server` in a child process on 127.0.0.1, with its files and log in `directory`."""

    directory: Path
    port: int = field(default_factory=free_port)
    extra_args: tuple[str, ...] = ()
    process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    @property
    def log(self) -> Path:
        return self.directory / f"redis-{self.port}.log"

    def start(self, timeout: float = 10.0) -> RedisServer:
        self.directory.mkdir(parents=True, exist_ok=True)
        args = ["--port", str(self.port), "--bind", HOST, "--save", "", "--appendonly", "no"]
        args += ["--dir", str(self.directory), "--logfile", str(self.log), "--daemonize", "no"]
        # Errors in the arguments are printed before the logfile is opened: keep them in the log too.
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                ["redis-server", *args, *self.extra_args], stdout=out, stderr=subprocess.STDOUT
            )
        self._wait_ready(self.process, timeout)
        return self

    def _wait_ready(self, process: subprocess.Popen[bytes], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while process.poll() is None and time.monotonic() < deadline:
            # Whatever else listens on the port must not pass for our server.
            if _server_pid(self.port) == process.pid:
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server on port {self.port} did not come up:\n{self.log.read_text()}")

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def kill(self) -> None:
        """Die at once, as in a crash: no shutdown, clients see their connections reset."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def restart(self, timeout: float = 10.0) -> RedisServer:
        """Start again on the same port, so that clients configured for it can reconnect by themselves."""
        self.stop()
        return self.start(timeout)


@dataclass
class RedisCluster:
    """A Redis cluster of `size` masters without replicas, each node a `RedisServer` under `directory`."""

    directory: Path
    size: int = 3
    nodes: list[RedisServer] = field(default_factory=list, init=False)

    @property
    def startup_nodes(self) -> list[tuple[str, int]]:
        return [(HOST, node.port) for node in self.nodes]

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"{host}:{port}" for host, port in self.startup_nodes)

    def start(self, timeout: float = 20.0) -> RedisCluster:
        try:
            for port in free_cluster_ports(self.size):
                cluster_args = ["--cluster-enabled", "yes", "--cluster-config-file", f"nodes-{port}.conf"]
                cluster_args += ["--cluster-node-timeout", "2000"]
                node = RedisServer(self.directory / f"node-{port}", port, extra_args=tuple(cluster_args))
                self.nodes.append(node.start())
            self._create()
            self._wait_ok(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _create(self) -> None:
        addresses = [f"{host}:{port}" for host, port in self.startup_nodes]
        result = subprocess.run(
            ["redis-cli", "--cluster", "create", *addresses, "--cluster-replicas", "0", "--cluster-yes"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if result.returncode != 0:
            raise RuntimeError(f"redis-cli --cluster create failed:\n{result.stdout}\n{result.stderr}")

    def _wait_ok(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        waiting = list(self.nodes)
        while waiting := [node for node in waiting if _cluster_state(node.port) != "ok"]:
            if time.monotonic() > deadline:
                logs = "\n".join(node.log.read_text() for node in waiting)
                raise RuntimeError(f"Redis cluster state is not ok on {[n.port for n in waiting]}:\n{logs}")
            time.sleep(0.1)

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


def _cluster_state(port: int) -> str:
    try:
        with redis.Redis(host=HOST, port=port, socket_timeout=1, decode_responses=True) as client:
            return str(client.cluster("INFO")["cluster_state"])
    except redis.RedisError:
        return "unreachable"


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A fresh Redis server for one test."""
    server = RedisServer(tmp_path / "redis").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisCluster]:
    """A three-master Redis cluster shared by the tests of one module."""
    cluster = RedisCluster(tmp_path_factory.mktemp("redis-cluster")).start()
    try:
        yield cluster
    finally:
        cluster.stop()
