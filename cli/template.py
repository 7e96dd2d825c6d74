"""`idnode template …`: data templates, through a node (`--node`, or a profile) or on the local database.

Files are JSON or YAML; the shipped templates load by name: automotive-part, steel-coil.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import click
import yaml

from .connection import configured, connection_options
from .local import on_database

SHIPPED = ("automotive-part", "steel-coil")


def _read(source: str) -> Any:
    if source in SHIPPED:
        text = resources.files("registry.template_data").joinpath(f"{source}.json").read_text("utf-8")
    else:
        text = Path(source).read_text("utf-8")
    try:
        return yaml.safe_load(text) if source.endswith((".yaml", ".yml")) else json.loads(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise click.ClickException(f"{source} cannot be read: {exc}".splitlines()[0]) from None


def _items(body: dict[str, Any]) -> str:
    return ", ".join(f"{i['idIndex']}:{i['idType']}{'*' if i.get('required') else ''}" for i in body["items"])


@click.group()
def template() -> None:
    """Manage data templates."""


@template.command("load")
@click.argument("source")
@click.option("--prefix", required=True, help="The enterprise prefix the template is for.")
@click.option("--version", "version", help="The template version (default: the file's).")
@connection_options
def load(
    source: str, prefix: str, version: str | None, node: str | None, user: str | None, secret: str | None,
    profile: str,
) -> None:  # fmt: skip
    """Load a template from a JSON or YAML file, or a shipped one: automotive-part, steel-coil."""
    read = _read(source)
    if not isinstance(read, dict):
        raise click.ClickException(f"{source} does not hold a template (a mapping with version and items)")
    body = read | {"prefix": prefix} | ({"version": version} if version else {})
    remote = configured(node, user, secret, profile)
    if remote is not None:
        with remote.client() as client:
            client.add_template(body)
        loaded = body
    else:
        loaded = on_database(lambda operator: operator.load_template(body))
    click.echo(
        f"template {loaded['version']} of {loaded['prefix'].upper()} loaded: {len(loaded['items'])} items"
    )


def _templates(
    prefix: str, version: str | None, node: str | None, user: str | None, secret: str | None, profile: str
) -> list[dict[str, Any]]:
    remote = configured(node, user, secret, profile)
    if remote is not None:
        with remote.client() as client:
            found = client.template(prefix, version)
        return [found] if version else list(found)

    return on_database(lambda operator: operator.templates(prefix, version))


@template.command("list")
@click.option("--prefix", required=True)
@connection_options
def list_command(prefix: str, node: str | None, user: str | None, secret: str | None, profile: str) -> None:
    """List a prefix's templates and their items (* marks required ones)."""
    for body in _templates(prefix, None, node, user, secret, profile):
        click.echo(f"{body['prefix']}\t{body['version']}\t{_items(body)}")


@template.command("show")
@click.option("--prefix", required=True)
@click.option("--version", "version", required=True)
@click.option("--output", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True)
@connection_options
def show(
    prefix: str,
    version: str,
    output: str,
    node: str | None,
    user: str | None,
    secret: str | None,
    profile: str,
) -> None:
    """Show one template, as YAML (default) or JSON."""
    body = _templates(prefix, version, node, user, secret, profile)[0]
    text = (
        yaml.safe_dump(body, allow_unicode=True, sort_keys=False)
        if output == "yaml"
        else json.dumps(body, ensure_ascii=False, indent=2)
    )
    click.echo(text.rstrip())
