"""`idnode serve`: run the node's HTTP server.

Granian serves the ASGI application: measured on this project's hot path it answers about 1.5 times the
requests uvicorn (uvloop, httptools) does on the same machine; see benchmarks/README.md.
"""

from __future__ import annotations

import asyncio
import os
import socket

import click
from granian import Granian
from granian.constants import Interfaces, Loops
from granian.http import HTTP1Settings
from granian.log import LogLevels

from .local import Settings, node_prefix


def worker_environment(host: str, port: int) -> Settings:
    """The settings of the workers, which read them from the environment: the native listeners' address
    defaults to the HTTP one, and the site record names the HTTP port."""
    os.environ.setdefault("IDNODE_NATIVE_HOST", host)
    os.environ["IDNODE_HTTP_PORT"] = str(port)
    return Settings.from_env()


def check_native_port(settings: Settings) -> None:
    """Refuse a native port another process holds: the workers bind it with SO_REUSEPORT, which would let
    them share it, silently, with another node of the same user."""
    port, host = settings.native_port, settings.native_host or "127.0.0.1"
    if not port:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        with socket.socket(family, kind) as probe:
            if kind == socket.SOCK_STREAM:
                # A restart finds the TCP connections of the node before it in TIME_WAIT on the port (Handle
                # clients keep theirs open): they hold nothing. A socket listening there still fails bind.
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError as exc:
                raise click.ClickException(
                    f"the native Handle port {host}:{port} is taken ({exc.strerror}): set IDNODE_NATIVE_PORT "
                    "to a free port, or off"
                ) from None


def native_banner(settings: Settings) -> str:
    if settings.native_port is None:
        return "native Handle protocol off (IDNODE_NATIVE_PORT=off)"
    return f"native Handle protocol on {settings.native_host}:{settings.native_port} (UDP and TCP)"


def start_server(host: str, port: int, workers: int, settings: Settings) -> None:
    Granian(
        "resolver.app:create_app",
        factory=True,
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        workers=workers,
        loop=Loops.uvloop,
        websockets=False,
        # A deadline for each request's headers, trickled or not, and for the wait on an idle keep-alive
        # connection (granian has no body-read timeout: the edge keeps that one).
        http1_settings=HTTP1Settings(header_read_timeout=settings.header_timeout * 1000),
        log_level=LogLevels(settings.log_level),
        log_access=False,
    ).serve()


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="Processes.")
def serve(host: str, port: int, workers: int) -> None:
    """Serve the node over HTTP and the native Handle protocol; GET /healthz answers 200 once ready."""
    settings = worker_environment(host, port)
    prefix = asyncio.run(node_prefix(settings))  # a clear error before any worker starts
    check_native_port(settings)
    click.echo(f"idnode {prefix} serving on http://{host}:{port} with {workers} worker(s)")
    click.echo(native_banner(settings))
    start_server(host, port, workers, settings)
