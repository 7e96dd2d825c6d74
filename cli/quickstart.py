"""`idnode quickstart`: a demo node on the embedded database, an example enterprise, and the server."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click

from registry import Conflict, EnterpriseInput, Registry, add_enterprise, init_node, new_secret
from registry.store.migrate import upgrade
from resolver import Settings

from .common import local_registry, run
from .serve import start_server

NODE_PREFIX = "88.999"
EXAMPLE_PREFIX = "88.999.1"
EXAMPLE = EnterpriseInput(
    name="十堰示例汽车零部件有限公司 (Shiyan Example Auto Parts Co.)",
    credit_code="91420300MA49K2Q7NE",
    industry="C3670",
    contact="mes-team@example.com",
)
SECRETS_FILE = Path("data") / "quickstart.json"


def _load() -> dict[str, Any]:
    try:
        loaded: dict[str, Any] = json.loads(SECRETS_FILE.read_text())
    except (OSError, ValueError):
        return {}
    return loaded


def _save(secrets: dict[str, Any]) -> None:
    SECRETS_FILE.parent.mkdir(parents=True, exist_ok=True)
    # Only the local user may read the demo's secrets.
    fd = os.open(SECRETS_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(secrets, out, indent=2)


async def _set_up(registry: Registry, secrets: dict[str, Any]) -> None:
    admin_secret = secrets.get("node_admin") or new_secret()
    if (await init_node(registry, NODE_PREFIX, admin_secret)).created:
        secrets["node_admin"] = admin_secret
    if EXAMPLE_PREFIX in await registry.prefixes():
        return
    example_secret = new_secret()
    try:
        await add_enterprise(registry, EXAMPLE, prefix=EXAMPLE_PREFIX, secret=example_secret)
    except Conflict:
        return
    secrets["example"] = example_secret


def _banner(secrets: dict[str, Any], base: str) -> None:
    example = secrets.get("example", "(printed when it was created; see data/quickstart.json)")
    admin = secrets.get("node_admin", "(see data/quickstart.json)")
    auth = f"300%3A0.NA/{EXAMPLE_PREFIX}:{example}"
    part = f"{base}/api/handles/{EXAMPLE_PREFIX}/PART-0001"
    click.echo(
        f"""
idnode quickstart: node {NODE_PREFIX} on {Settings.from_env().database_url}
  node administrator  300:0.NA/{NODE_PREFIX}   secret {admin}
  example enterprise  {EXAMPLE.name}
                      prefix {EXAMPLE_PREFIX}, administrator 300:0.NA/{EXAMPLE_PREFIX}   secret {example}

Try it:
  curl -u '{auth}' -X PUT -H 'Content-Type: application/json' \\
       -d '[{{"index":2000,"type":"partNo","data":"DF-6100-A"}}]' {part}
  curl '{part}?pretty'
"""
    )


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
def quickstart(host: str, port: int) -> None:
    """Set up node 88.999 with an example enterprise 88.999.1 (once), print how to use it, and serve."""
    settings = Settings.from_env()
    upgrade(settings.database_url)
    secrets = _load()

    async def set_up() -> None:
        async with local_registry(settings) as registry:
            await _set_up(registry, secrets)

    run(set_up())
    _save(secrets)
    _banner(secrets, f"http://{host}:{port}")
    start_server(host, port, 1, settings)
