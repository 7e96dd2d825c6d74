"""What the commands share: one-line errors."""

from __future__ import annotations

import sys

import click

from sdk import SdkError

USAGE_ERROR = 2


def _expected() -> tuple[type[BaseException], ...]:
    """Failures a user can act on: shown as one line, not a traceback. The node's own are known only once a
    command has touched it (the node is not imported for commands that talk to it over the network)."""
    local = sys.modules.get("cli.local")
    return (SdkError, OSError, ValueError, *(getattr(local, "FAILURES", ()) if local is not None else ()))


def run_command(group: click.Group) -> None:
    """Run the CLI; expected failures print one line (a traceback only with --debug)."""
    debug = "--debug" in sys.argv[1:]
    try:
        group.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except Exception as exc:
        if debug or not isinstance(exc, _expected()):
            raise
        click.echo(f"idnode: {_describe(exc)}", err=True)
        sys.exit(USAGE_ERROR)


def _describe(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    if orig is not None:  # a database error: what the database said
        return f"database error: {orig}".splitlines()[0]
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
