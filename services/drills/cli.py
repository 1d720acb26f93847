"""``nls positions`` (the backgammon position library and what a drill request loads) and
``nls drills`` (ask for a drill series and follow it, or look at one)."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from events.drills import GamePhase
from services.errors import StillRunning
from services.runtime.cli import console, fail, read, run
from services.settings import get_settings

if TYPE_CHECKING:
    from projections.drills import SeriesView

__all__ = ["drills_app", "positions_app", "status_lines"]

positions_app = typer.Typer(help="The backgammon position library.", no_args_is_help=True)
ENGINES = ("gnubg",)


@positions_app.command("seed")
def positions_seed(
    engine: Annotated[str, typer.Option(help="ground-truth engine")] = "gnubg",
    per_phase: Annotated[int, typer.Option("--per-phase", min=1, max=500)] = 25,
    seed: Annotated[int, typer.Option(help="self-play and sampling seed")] = 7,
    games: Annotated[int, typer.Option(min=1, max=1000, help="self-play games at most")] = 40,
) -> None:
    """Build the library: the 21 opening rolls and self-play positions, with gnubg's plays."""
    if engine not in ENGINES:
        raise fail(f"unknown engine {engine!r} (known: {', '.join(ENGINES)})", 2)
    from services.bus.admin import ensure_topics
    from services.bus.producer import EventPublisher
    from services.drills.engine import GnubgEngine
    from services.drills.library import build_library, seeded_events
    from services.runtime.cli import progress_bar

    async def go() -> int:
        s = get_settings()
        await ensure_topics(s)
        async with GnubgEngine(size=2) as gnubg:
            with progress_bar() as progress:
                task = progress.add_task("analysing positions", total=None)

                def report(done: int, total: int) -> None:
                    progress.update(task, completed=done, total=total)

                positions = await build_library(
                    gnubg, per_phase=per_phase, seed=seed, max_games=games, progress=report
                )
        async with EventPublisher(s, client_id="positions-seed") as pub:
            await pub.publish(seeded_events(positions))
        counts: dict[GamePhase, int] = {}
        for p in positions:
            counts[p.phase] = counts.get(p.phase, 0) + 1
        table = Table("phase", "positions", title=f"position library ({engine})")
        for phase in GamePhase:
            table.add_row(phase.value, str(counts.get(phase, 0)))
        console.print(table)
        return len(positions)

    console.print(f"published {run(go())} positions")


@positions_app.command("plan")
def positions_plan(
    drills: Annotated[int, typer.Option("--drills", help="targetDrillCount")] = 21,
    phases: Annotated[str, typer.Option(help="comma-separated game phases")] = "OPENING",
    max_per_phase: Annotated[int | None, typer.Option("--max-per-phase", min=1)] = None,
    seed: Annotated[int | None, typer.Option(help="sampling seed")] = None,
    engine: Annotated[str, typer.Option()] = "gnubg",
) -> None:
    """What a drill request would load (Phase 1): positions per phase and context tokens."""
    from projections.positions import library_of
    from services.drills.loading import load_positions

    chosen = _phases(phases)
    if drills < 1:
        raise fail(f"--drills must be at least 1, got {drills}")
    library = read(lambda conn: library_of(conn, engine))
    if not library:
        raise fail(f"no positions for engine {engine!r}: run `nls positions seed` first")
    loaded = load_positions(
        library, chosen, target_drills=drills, max_per_phase=max_per_phase, seed=seed
    )
    table = Table("phase", "positions", title=f"{drills} drills over {len(chosen)} phase(s)")
    for phase, ps in loaded.positions.items():
        table.add_row(phase.value, str(len(ps)))
    console.print(table)
    console.print(
        f"per-phase limit {loaded.limit}; {loaded.count} positions, ~{loaded.tokens:,} tokens "
        f"against ~{loaded.fixed_maximum_tokens:,} for the fixed maximum: "
        f"{loaded.savings:.0%} saved"
    )


def _phases(text: str) -> list[GamePhase]:
    out = []
    for name in filter(None, (p.strip().upper() for p in text.split(","))):
        try:
            out.append(GamePhase(name))
        except ValueError:
            known = ", ".join(p.value for p in GamePhase)
            raise fail(f"unknown game phase {name!r} (known: {known})", 2) from None
    if not out:
        raise fail("--phases: give at least one game phase", 2)
    return out


drills_app = typer.Typer(help="Backgammon drill series.", no_args_is_help=True)


@drills_app.command("request")
def drills_request(
    drills: Annotated[int, typer.Option("--drills", help="targetDrillCount")] = 21,
    phases: Annotated[str, typer.Option(help="comma-separated game phases")] = "OPENING",
    project: Annotated[str, typer.Option(help="project id")] = "cli",
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, max=50)] = 5,
    single: Annotated[bool, typer.Option("--single", help="one call, no batches")] = False,
    seed: Annotated[int | None, typer.Option(help="position sampling seed")] = None,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="follow the progress")] = True,
    timeout: Annotated[float, typer.Option(help="seconds to follow it")] = 600.0,
) -> None:
    """Ask for a drill series and follow it: "Generated X/Y drills (Batch A/B)"."""
    import asyncio
    import time
    import uuid

    from pydantic import ValidationError

    from events import Envelope
    from events.drills import DrillSeriesRequested
    from projections.drills import series_of
    from services.bus.admin import ensure_topics
    from services.bus.producer import EventPublisher

    try:
        request = DrillSeriesRequested(
            artifact_id=uuid.uuid4(),
            project_id=project,
            target_drill_count=drills,
            game_phases=_phases(phases),
            batch_size=batch_size,
            batched=not single,
            seed=seed,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        raise fail(f"{'.'.join(map(str, first['loc']))}: {first['msg']}") from None

    async def go() -> Any:
        from projections.db import make_engine

        s = get_settings()
        await ensure_topics(s)
        async with EventPublisher(s, client_id="cli") as pub:
            await pub.publish([Envelope.new(request, source="cli")])
        console.print(f"requested series {request.artifact_id}")
        if not wait:
            return None
        engine = make_engine(s, read_only=True)
        deadline = time.monotonic() + timeout
        try:
            with _series_bar() as progress:
                task = progress.add_task(f"Generated 0/{drills} drills", total=drills)
                while time.monotonic() < deadline:
                    async with engine.connect() as conn:
                        view = await series_of(conn, request.artifact_id)
                    if view is not None:
                        progress.update(
                            task, completed=view.drills_generated, description=view.progress
                        )
                        if view.status in ("COMPLETED", "FAILED"):
                            return view
                    await asyncio.sleep(0.5)
        finally:
            await engine.dispose()
        raise StillRunning(f"series {request.artifact_id} still running after {timeout:.0f}s")

    view = run(go())
    if view is None:
        return
    console.print(
        f"{view.status}: {view.drills_generated}/{view.target_drills} drills in "
        f"{view.total_batches} batch(es)" + (f"; warning: {view.warning}" if view.warning else "")
    )
    if view.failed_batches:
        console.print(f"failed batches: {', '.join(map(str, view.failed_batches))}")
    if view.status == "FAILED":
        raise typer.Exit(1)


@drills_app.command("status")
def drills_status(
    artifact: Annotated[str, typer.Argument(help="the series' artifact id (a UUID)")],
    as_json: Annotated[bool, typer.Option("--json", help="the read model as JSON")] = False,
) -> None:
    """A drill series: "Generated X/Y drills (Batch A/B)", its batches, failures and warning."""
    from projections.drills import series_of

    try:
        artifact_id = uuid.UUID(artifact)
    except ValueError:
        raise fail(f"{artifact!r} is not a drill series id (a UUID)", 2) from None
    view = read(lambda conn: series_of(conn, artifact_id))
    if view is None:
        raise fail(f"no drill series {artifact_id} (not requested, or not projected yet)")
    if as_json:
        console.print_json(view.model_dump_json())
        return
    for line in status_lines(view):
        console.print(line, highlight=False)
    batches = _batches(view)
    if batches:
        table = Table("batch", "status", "drills", "error", title="batches")
        for index, (status, made, error) in sorted(batches.items()):
            table.add_row(str(index), status, str(made), error)
        console.print(table)


def status_lines(view: SeriesView) -> list[str]:
    lines = [
        f"drill series {view.artifact_id} (project {view.project_id}): {view.status}",
        view.progress,
    ]
    if view.total_batches is not None:
        failed = ", ".join(map(str, view.failed_batches)) or "none"
        lines.append(
            f"failed batches: {failed} ({len(view.failed_batches)} of {view.total_batches})"
        )
    if view.warning:
        lines.append(f"warning: {view.warning}")
    if view.context_tokens is not None and view.fixed_maximum_tokens:
        saved = 1 - view.context_tokens / view.fixed_maximum_tokens
        lines.append(
            f"positions sent: ~{view.context_tokens:,} tokens against "
            f"~{view.fixed_maximum_tokens:,} for the fixed maximum ({saved:.0%} saved)"
        )
    if view.status in ("COMPLETED", "FAILED"):
        lines.append(
            f"verification: {len(view.disagreements)} disagreement(s) with the engine"
            + (f"; first: {view.disagreements[0]}" if view.disagreements else "")
        )
    return lines


def _batches(view: SeriesView) -> dict[int, tuple[str, int, str]]:
    """Each batch's status, drills made and error, from its drill rows."""
    statuses: dict[int, str] = {}
    made: Counter[int] = Counter()
    errors: dict[int, str] = {}
    for row in view.drills:
        index = int(row["batch_index"])
        statuses[index] = str(row["batch_status"])
        if row.get("drill") is not None:
            made[index] += 1
        if row.get("error"):
            errors[index] = str(row["error"])[:120]
    return {i: (statuses[i], made[i], errors.get(i, "")) for i in statuses}


def _series_bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=console
    )
