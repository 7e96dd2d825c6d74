"""The machine a figure was measured on, and other small facts a run needs."""

from __future__ import annotations

import os
import platform
import socket


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
