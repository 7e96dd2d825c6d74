"""How the commands reach a node through the SDK: flags, else `IDNODE_*` variables, else a profile.

A profile file (`IDNODE_PROFILES`, default `~/.config/idnode/profiles.toml`) holds named connections:

    [default]
    node = "http://127.0.0.1:8000"
    user = "300:0.NA/88.999.1"
    secret = "…"
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from sdk import NodeClient

F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_NODE = "http://127.0.0.1:8000"


@dataclass(frozen=True)
class Connection:
    node: str
    user: str | None
    secret: str | None

    def client(self, **options: Any) -> NodeClient:
        return NodeClient(self.node, username=self.user, secret=self.secret, **options)


def _profile(name: str) -> dict[str, str]:
    path = Path(os.environ.get("IDNODE_PROFILES", "~/.config/idnode/profiles.toml")).expanduser()
    if not path.exists():
        if name != "default":
            raise click.UsageError(f"no profile file at {path} for profile {name!r}")
        return {}
    try:
        profiles = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise click.UsageError(f"{path} is not TOML: {exc}") from None
    if name not in profiles:
        if name == "default":
            return {}
        raise click.UsageError(f"{path} has no profile {name!r}")
    return {k: str(v) for k, v in profiles[name].items()}


def connection_options(command: F) -> F:
    """--node, --user, --secret and --profile, with their environment variables."""
    options = [
        click.option("--node", envvar="IDNODE_NODE", help=f"The node's URL (default {DEFAULT_NODE})."),
        click.option("--user", envvar="IDNODE_USER", help="An administrator, e.g. 300:0.NA/88.118.8."),
        click.option("--secret", envvar="IDNODE_SECRET", help="Its secret."),
        click.option(
            "--profile", envvar="IDNODE_PROFILE", default="default", help="A profile of the profile file."
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def connection(node: str | None, user: str | None, secret: str | None, profile: str) -> Connection:
    """Flags and environment first, then the profile, then the defaults."""
    saved = _profile(profile)
    return Connection(
        node or saved.get("node") or DEFAULT_NODE, user or saved.get("user"), secret or saved.get("secret")
    )


def configured(node: str | None, user: str | None, secret: str | None, profile: str) -> Connection | None:
    """The connection when a node was named (flag, environment or profile); None means the local database."""
    saved = _profile(profile)
    if not node and not saved.get("node"):
        return None
    return connection(node, user, secret, profile)
