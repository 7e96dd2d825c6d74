"""`idnode`: run and administer a node. Each command lives in its own module."""

from __future__ import annotations

import click

from . import (
    audit,
    enterprise,
    export,
    importing,
    init,
    node,
    quickstart,
    report,
    resolve,
    scan,
    serve,
    sign,
    template,
)
from .common import run_command
from .trace import trace


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.pass_context
def idnode(ctx: click.Context, debug: bool) -> None:
    """idnode: a secondary node of an industrial internet identifier resolution system.

    The database is named by IDNODE_DATABASE_URL (default sqlite:///data/idnode.db).
    """
    ctx.obj = {"debug": debug}


idnode.add_command(init.init)
idnode.add_command(init.migrate_command)
idnode.add_command(enterprise.enterprise)
idnode.add_command(node.node)
idnode.add_command(template.template)
idnode.add_command(resolve.resolve)
idnode.add_command(resolve.register)
idnode.add_command(scan.scan)
idnode.add_command(trace)
idnode.add_command(sign.sign)
idnode.add_command(importing.import_command)
idnode.add_command(export.export)
idnode.add_command(export.stats)
idnode.add_command(audit.audit)
idnode.add_command(report.report)
idnode.add_command(serve.serve)
idnode.add_command(quickstart.quickstart)


def main() -> None:
    run_command(idnode)
