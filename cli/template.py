"""`idnode template …`: data templates on the local database (the shipped ones by name)."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import click

from registry import node_admin
from registry.template_ops import add_template, get_templates
from registry.templates import parse_template

from .common import local_registry, run

SHIPPED = ("automotive-part", "steel-coil")


def _read(source: str) -> Any:
    if source in SHIPPED:
        text = resources.files("registry.template_data").joinpath(f"{source}.json").read_text("utf-8")
    else:
        text = Path(source).read_text("utf-8")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise click.ClickException(f"{source} is not JSON: {exc}") from None


@click.group()
def template() -> None:
    """Manage data templates."""


@template.command("load")
@click.argument("source")
@click.option("--prefix", required=True, help="The enterprise prefix the template is for.")
@click.option("--version", "version", help="The template version (default: the file's).")
def load(source: str, prefix: str, version: str | None) -> None:
    """Load a template from a JSON file, or a shipped one: automotive-part, steel-coil."""
    body = _read(source) | {"prefix": prefix} | ({"version": version} if version else {})
    loaded = parse_template(body)

    async def add() -> None:
        async with local_registry() as registry:
            await add_template(registry, await node_admin(registry), loaded)

    run(add())
    click.echo(f"template {loaded.version} of {loaded.prefix} loaded: {len(loaded.items)} items")


@template.command("list")
@click.option("--prefix", required=True)
def list_command(prefix: str) -> None:
    """List a prefix's templates and their items."""

    async def show() -> None:
        async with local_registry() as registry:
            for found in await get_templates(registry, prefix):
                items = ", ".join(f"{i.id_index}:{i.id_type}{'*' if i.required else ''}" for i in found.items)
                click.echo(f"{found.prefix}\t{found.version}\t{items}")

    run(show())
