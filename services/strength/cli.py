"""``nls training jit``: adjust a session from a JIT input file and print it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.table import Table

from services.runtime.cli import console, fail, platform, run

__all__ = ["training_app"]

training_app = typer.Typer(help="Strength-training sessions.", no_args_is_help=True)


@training_app.command("jit")
def training_jit(
    session_file: Annotated[Path, typer.Argument(help="a JIT input as JSON")],
    strategy: Annotated[
        str, typer.Option("--strategy", "-s", help="formula, llm, hybrid or auto")
    ] = "auto",
) -> None:
    """Today's session for a JIT input: sets x reps @ kg, and the rationale."""
    from events.training import JITInput
    from services.generation import generate
    from services.strength.strategies import TRAINING

    if strategy not in TRAINING.strategies():
        known = ", ".join(TRAINING.strategies())
        raise fail(f"--strategy: no strategy {strategy!r} (known: {known})", 2)
    try:
        text = session_file.read_text("utf-8")
    except OSError as exc:
        raise fail(f"{session_file}: {exc.strerror}") from None
    try:
        session = JITInput.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "(file)"
        raise fail(f"{session_file}: {where}: {first['msg']}") from None

    async def go() -> object:
        async with platform().deps() as deps:
            return await generate(TRAINING, session, strategy=strategy, gateway=deps.gateway())

    made = run(go())
    plan, usage = made.value, made.usage  # type: ignore[attr-defined]
    table = Table("", "sets x reps @ kg", title=f"session {session.session_id} ({usage.strategy})")
    for label, sets in (("warm-up", plan.warmup), (plan.main_lift, plan.working_sets)):
        table.add_row(label, ", ".join(f"{s.reps} @ {s.weight_kg:g}" for s in sets) or "skipped")
    for aux in plan.auxiliary:
        body = "skipped" if aux.status == "skip" else f"{aux.sets} x {aux.reps} @ {aux.weight_kg:g}"
        table.add_row(f"{aux.name} ({aux.status})", body)
    console.print(table)
    for line in plan.rationale:
        console.print(f"- {line}")
    if usage.fallback_reason:
        console.print(f"[yellow]fell back to the formula:[/] {usage.fallback_reason}")
