"""Running wrk over a list of request paths and reading its figures; and nginx as the reference server."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

_LUA = """
local paths = {}
for line in io.lines("%(paths)s") do paths[#paths + 1] = line end
local n = #paths
math.randomseed(%(seed)d)
request = function()
  return wrk.format("GET", paths[math.random(n)], {["Accept"] = "application/json"})
end
"""

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
    location / { root %(dir)s/www; default_type application/json; }
  }
}
"""


@dataclass(frozen=True)
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def parse(output: str) -> WrkResult:
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", output).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", output).group(1))  # type: ignore[union-attr]
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", output))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return WrkResult(rps, p50, p99, errors + (int(non_2xx.group(1)) if non_2xx else 0))


def run_wrk(
    base_url: str, paths: Sequence[str], *, seconds: int, connections: int, threads: int, seed: int = 1
) -> WrkResult:
    """GET random paths from `paths` for `seconds`; the figures wrk reports."""
    with tempfile.TemporaryDirectory(prefix="idnode-wrk-") as folder:
        listing = Path(folder) / "paths.txt"
        listing.write_text("\n".join(paths) + "\n")
        script = Path(folder) / "paths.lua"
        script.write_text(_LUA % {"paths": listing, "seed": seed})
        load = [f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
        command = ["wrk", *load, "-s", str(script), base_url]
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return parse(output)


def wait_until_up(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


@contextmanager
def nginx_serving(body: bytes, name: str, port: int, workers: int = 1) -> Iterator[str]:
    """nginx serving `body` at /`name`; yields the base URL."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    with tempfile.TemporaryDirectory(prefix="idnode-nginx-") as folder:
        os.chmod(folder, 0o755)  # nginx's workers run as another user when started by root
        www = Path(folder) / "www"
        www.mkdir()
        (www / name).write_bytes(body)
        conf = Path(folder) / "nginx.conf"
        conf.write_text(_NGINX % {"workers": workers, "dir": folder, "port": port})
        process = subprocess.Popen([binary, "-c", str(conf), "-e", f"{folder}/error.log"])
        try:
            wait_until_up(f"http://127.0.0.1:{port}/{name}")
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(timeout=10)
