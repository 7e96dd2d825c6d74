"""The node operator's API as the CLI calls it when pointed at a running node (`--node`)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import click
import httpx

NODE_OPTIONS = [
    click.option(
        "--node", envvar="IDNODE_NODE", help="A running node's URL; without it, the local database."
    ),
    click.option("--admin", envvar="IDNODE_ADMIN", help="The node administrator, e.g. 300:0.NA/88.118."),
    click.option("--admin-secret", envvar="IDNODE_ADMIN_SECRET", help="The node administrator's secret."),
]


def node_options(command: Any) -> Any:
    for option in reversed(NODE_OPTIONS):
        command = option(command)
    return command


class AdminClient:
    def __init__(self, node: str, admin: str | None, secret: str | None) -> None:
        if not admin or not secret:
            raise click.UsageError(
                "--node needs --admin and --admin-secret (or IDNODE_ADMIN, IDNODE_ADMIN_SECRET)"
            )
        # Handle servers expect the index's colon percent-encoded in the user name.
        self._http = httpx.Client(base_url=node.rstrip("/"), auth=(quote(admin), secret), timeout=30)

    def call(self, method: str, path: str, body: Any = None, params: dict[str, str] | None = None) -> Any:
        try:
            response = self._http.request(method, f"/api/admin{path}", json=body, params=params)
        except httpx.HTTPError as exc:
            raise click.ClickException(f"cannot reach the node: {exc}") from None
        if response.status_code == 204:
            return None
        answer = response.json()
        if response.status_code >= 400:
            raise click.ClickException(answer.get("message") or f"HTTP {response.status_code}")
        return answer

    def close(self) -> None:
        self._http.close()
