"""The machine a figure was measured on, and other small facts a run needs."""

from __future__ import annotations

import hashlib
import os
import platform
import socket
from pathlib import Path


def describe() -> str:
    """E.g. `x86_64, 2 cores, Python 3.11.7, Linux 6.1`."""
    cores = len(os.sched_getaffinity(0))
    return (
        f"{platform.machine()}, {cores} cores, Python {platform.python_version()}, Linux {platform.release()}"
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def source_digest(packages: tuple[str, ...] = ("registry", "resolver", "cli")) -> str:
    """A short digest of the node's Python sources, to tell which state of the code a figure measured."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(p for package in packages for p in (root / package).rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]
