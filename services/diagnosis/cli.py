"""``nls query``: what the diagnosis family's read model says about a learner."""

from __future__ import annotations

from typing import Annotated

import orjson
import typer
from rich.table import Table

from services.runtime.cli import console, read

__all__ = ["query_app"]

query_app = typer.Typer(help="Query the read models.", no_args_is_help=True)


@query_app.command("diagnoses")
def query_diagnoses(
    learner: Annotated[str, typer.Option("--learner", "-l", help="learner id")],
    limit: Annotated[int, typer.Option(min=1, max=500)] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """A learner's diagnoses, newest first."""
    from projections.learning import diagnoses_of

    rows = read(lambda conn: diagnoses_of(conn, learner, limit=limit))
    if as_json:
        console.print_json(orjson.dumps([r.model_dump(mode="json") for r in rows]).decode())
        return
    if not rows:
        console.print(f"no diagnoses for learner {learner!r}")
        return
    table = Table(
        "when", "concept", "question", "fail mode", "conf.", "why", title=f"diagnoses of {learner}"
    )
    for r in rows:
        table.add_row(
            r.diagnosed_at.strftime("%Y-%m-%d %H:%M:%S"),
            str(r.concept_id)[:8],
            r.question_id,
            r.fail_mode,
            f"{r.confidence:.2f}",
            r.rationale,
        )
    console.print(table)
