"""`idnode node …`: the node's own signing keys, on its database (whoever holds the database holds the node).

`keys` lists the keys published in 0.NA/<node prefix>; `rotate-key` makes a new one (IDNODE_SIGNING_ALG,
or --alg) that signs from then on, while the old one stays published for a grace period so that what it
signed, and clients that hold it, still verify. Running nodes follow the rotation within seconds.
"""

from __future__ import annotations

import click

from .local import on_database


@click.group()
def node() -> None:
    """The node's signing keys."""


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
