"""`idnode node …`: the node's own signing keys, and on a top-level node the secondary nodes it allocated node
prefixes to; on its database (whoever holds the database holds the node).

`add` allocates a node prefix (its prefix handle, administered by the secondary node with the secret given,
which it homes its site record and reports with: `idnode init --parent URL --parent-secret …` there); `list`
shows them; `disable` stops routing to one and refuses its homing and reports.

`keys` lists the keys published in 0.NA/<node prefix>; `rotate-key` makes a new one (IDNODE_SIGNING_ALG,
or --alg) that signs from then on, while the old one stays published for a grace period so that what it
signed, and clients that hold it, still verify. Running nodes follow the rotation within seconds.
"""

from __future__ import annotations

import click

from .local import on_database


@click.group()
def node() -> None:
    """The node's signing keys; a top-level node's secondary nodes."""


@node.command("add")
@click.option("--prefix", required=True, help="The node prefix to allocate, e.g. 88.901.")
@click.option("--name", required=True, help="The secondary node's name, e.g. its city.")
@click.option("--secret", help="Its secret here (a random one is printed if absent).")
def add(prefix: str, name: str, secret: str | None) -> None:
    """Allocate a node prefix to a secondary node (top-level nodes only)."""
    body = {"prefix": prefix, "name": name} | ({"secret": secret} if secret else {})
    made = on_database(lambda operator: operator.add_child_node(body))
    click.echo(f"node {made['node']['prefix']} ({made['node']['name']}) added")
    click.echo(f"administrator: {made['node']['administrator']}")
    if "secret" in made:
        click.echo(f"secret:        {made['secret']}   (shown once; give it to the node)")


@node.command("list")
def list_nodes() -> None:
    """The secondary nodes this node allocated node prefixes to."""
    for child in on_database(lambda operator: operator.child_nodes()):
        click.echo(f"{child['prefix']}\t{child['status']}\t{child['name']}")


@node.command("disable")
@click.argument("prefix")
def disable(prefix: str) -> None:
    """Stop routing to a secondary node and refuse its homing and reports."""
    done = on_database(lambda operator: operator.disable_child_node(prefix))
    click.echo(f"node {done['prefix']} {done['status']}")


@node.command("keys")
def keys() -> None:
    """List the node's published signing keys (the active one last)."""
    for key in on_database(lambda operator: operator.signing_keys()):
        state = "active" if key["active"] else f"retired, published until {key['until']}"
        click.echo(f"{key['index']}\t{key['alg']}\t{key['kid']}\t{state}")


@node.command("rotate-key")
@click.option("--alg", type=click.Choice(["RS256", "SM2"]), help="Default: IDNODE_SIGNING_ALG (RS256).")
@click.option(
    "--grace-hours", default=48, show_default=True, type=click.IntRange(min=0), help="How long the old key "
    "stays published."
)  # fmt: skip
def rotate_key(alg: str | None, grace_hours: int) -> None:
    """Make a new signing key; the old one stays published for the grace period."""
    from .local import Settings

    chosen = alg or Settings.from_env().signing_alg
    done = on_database(lambda operator: operator.rotate_key(chosen, grace_hours * 3600))
    click.echo(f"signing with {done['alg']} key {done['active']} (HS_PUBKEY at index {done['index']})")
    click.echo(f"key {done['retired']} retired; published for {grace_hours} more hours")
