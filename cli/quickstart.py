"""`idnode quickstart`: a demo node on the embedded database, an example enterprise, and the server."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import click

from .local import Operator, Settings, initialise, migrate, new_secret, on_database
from .serve import check_native_port, native_banner, start_server, worker_environment

NODE_PREFIX = "88.999"
EXAMPLE_PREFIX = "88.999.1"
EXAMPLE = {
    "name": "十堰示例汽车零部件有限公司 (Shiyan Example Auto Parts Co.)",
    "creditCode": "91420300MA49K2Q7NE",
    "industry": "C3670",
    "contact": "mes-team@example.com",
}
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


def _set_up(settings: Settings, secrets: dict[str, Any]) -> None:
    admin_secret = secrets.get("node_admin") or new_secret()
    if asyncio.run(initialise(settings, NODE_PREFIX, admin_secret)).created:
        secrets["node_admin"] = admin_secret

    async def example(operator: Operator) -> None:
        if EXAMPLE_PREFIX in await operator.prefixes():
            return
        secret = new_secret()
        await operator.create_enterprise(EXAMPLE | {"prefix": EXAMPLE_PREFIX, "secret": secret})
        secrets["example"] = secret

    on_database(example, settings)


def _banner(secrets: dict[str, Any], base: str, settings: Settings) -> None:
    example = secrets.get("example", "(printed when it was created; see data/quickstart.json)")
    admin = secrets.get("node_admin", "(see data/quickstart.json)")
    auth = f"300%3A0.NA/{EXAMPLE_PREFIX}:{example}"
    part = f"{base}/api/handles/{EXAMPLE_PREFIX}/PART-0001"
    click.echo(
        f"""
idnode quickstart: node {NODE_PREFIX} on {settings.database_url}
  node administrator  300:0.NA/{NODE_PREFIX}   secret {admin}
  example enterprise  {EXAMPLE["name"]}
                      prefix {EXAMPLE_PREFIX}, administrator 300:0.NA/{EXAMPLE_PREFIX}   secret {example}

Try it:
  curl -u '{auth}' -X PUT -H 'Content-Type: application/json' \\
       -d '[{{"index":2000,"type":"partNo","data":"DF-6100-A"}}]' {part}
  curl '{part}?pretty'{_native_line(settings)}
"""
    )


def _native_line(settings: Settings) -> str:
    """The same resolution over the native Handle protocol, when it is served."""
    if settings.native_port is None:
        return ""
    where = f"{settings.native_host}:{settings.native_port}"
    return f"\n  idnode resolve --native {where} {EXAMPLE_PREFIX}/PART-0001"


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
def quickstart(host: str, port: int) -> None:
    """Set up node 88.999 with an example enterprise 88.999.1 (once), print how to use it, and serve."""
    settings = worker_environment(host, port)
    migrate(settings)
    secrets = _load()
    _set_up(settings, secrets)
    _save(secrets)
    check_native_port(settings)
    _banner(secrets, f"http://{host}:{port}", settings)
    click.echo(native_banner(settings))
    start_server(host, port, 1, settings)
