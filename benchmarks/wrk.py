"""Running wrk over a file of request paths and reading its figures; and nginx as the reference server."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .services import ROOT, child, wait_until_up

SCRIPT = "benchmarks/paths.lua"  # relative to ROOT, where wrk runs, so that the command shown is short

_NGINX = """
daemon off;
worker_processes %(workers)d;
pid %(dir)s/nginx.pid;
error_log %(dir)s/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:%(port)d;
    root %(dir)s/www;
    default_type application/json;
    location / { }
%(also)s  }
}
"""
# Every path under a prefix answers with the one file, so that wrk's command (paths included) is the same
# for nginx as for the node. nginx refuses to POST to a file (405); the error page sends the file instead,
# so that a POST /api/resolve line gets the bytes too, its body read and dropped.
_ALSO_UNDER = "    location %(prefix)s { try_files /%(name)s =404; error_page 405 =200 /%(name)s; }\n"


@dataclass(frozen=True)
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int


@dataclass(frozen=True)
class WrkLoad:
    """One wrk command line: threads, connections and duration."""

    threads: int
    connections: int
    seconds: int

    def command(self, base_url: str, paths: Path, *, seed: int = 1, rate: float | None = None) -> list[str]:
        """GETs of paths picked uniformly from the file `paths`; at `rate` requests a second if given
        (each of the threads offering its share), else as fast as the server answers."""
        load = [f"-t{self.threads}", f"-c{self.connections}", f"-d{self.seconds}s", "--latency"]
        arguments = [str(paths), str(seed)] + ([f"{rate / self.threads:.0f}"] if rate is not None else [])
        return ["wrk", *load, "-s", SCRIPT, base_url, "--", *arguments]


def shown(command: list[str]) -> str:
    return shlex.join(command)


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def parse(output: str) -> WrkResult:
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", output).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", output).group(1))  # type: ignore[union-attr]
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", output))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return WrkResult(rps, p50, p99, errors + (int(non_2xx.group(1)) if non_2xx else 0), requests)


def run_wrk(command: list[str]) -> WrkResult:
    """Run a command made by `WrkLoad.command`; the figures wrk reports."""
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{shown(command)} failed ({done.returncode}): {done.stderr.strip()}")
    return parse(done.stdout)


@contextmanager
def nginx_serving(
    body: bytes, name: str, port: int, workers: int = 1, *, also_under: str | None = None
) -> Iterator[str]:
    """nginx with `workers` worker processes serving `body` at /`name` (and at every path under
    `also_under`, when given); yields the base URL."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    with tempfile.TemporaryDirectory(prefix="idnode-nginx-") as folder:
        os.chmod(folder, 0o755)  # nginx's workers run as another user when started by root
        www = Path(folder) / "www"
        www.mkdir()
        (www / name).write_bytes(body)
        also = _ALSO_UNDER % {"prefix": also_under, "name": name} if also_under else ""
        conf = Path(folder) / "nginx.conf"
        conf.write_text(_NGINX % {"workers": workers, "dir": folder, "port": port, "also": also})
        command = [binary, "-c", str(conf), "-e", f"{folder}/error.log"]
        with child(command, log=Path(folder) / "stdout.log") as process:
            wait_until_up(f"http://127.0.0.1:{port}/{name}", process=process)
            yield f"http://127.0.0.1:{port}"
