"""The ``nls`` command line: the platform's own commands, and every family's command groups
(declared in the families' ``family.py``, listed by the registry)."""

from __future__ import annotations

import typer

from services.runtime.family import load
from tools.cli import agents, dev, init, ops
from tools.cli.dlq import dlq_app

__all__ = ["app"]

app = typer.Typer(
    help="nls: event-sourced AI content generation for learning apps.", no_args_is_help=True
)
ops.register(app)
agents.register(app)
dev.register(app)
init.register(app)
app.add_typer(dlq_app, name="dlq")


def _family_groups() -> None:
    from services.bootstrap import family_specs

    for family in family_specs():
        for name, ref in family.cli.items():
            app.add_typer(load(ref), name=name)


_family_groups()

if __name__ == "__main__":
    app()
