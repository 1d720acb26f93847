"""``nls positions``: the backgammon position library and what a drill request loads."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from events.drills import GamePhase
from services.settings import get_settings
from tools.cli.common import console, fail, read, run

__all__ = ["drills_app", "positions_app"]

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
    from tools.cli.content import progress_bar

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
    """Ask for a drill series and follow it: "Generated X/Y drills"."""
    import asyncio
    import time
    import uuid

    from pydantic import ValidationError

    from events import Envelope
    from events.drills import DrillSeriesRequested
    from projections.drills import series_of
    from services.bus.admin import ensure_topics
    from services.bus.producer import EventPublisher
    from tools.cli.content import progress_bar

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
            with progress_bar() as progress:
                task = progress.add_task("Generated drills", total=drills)
                while time.monotonic() < deadline:
                    async with engine.connect() as conn:
                        view = await series_of(conn, request.artifact_id)
                    if view is not None:
                        progress.update(task, completed=view.drills_generated)
                        if view.status in ("COMPLETED", "FAILED"):
                            return view
                    await asyncio.sleep(0.5)
        finally:
            await engine.dispose()
        raise RuntimeError(f"series {request.artifact_id} still running after {timeout:.0f}s")

    view = run(go())
    if view is None:
        return
    console.print(
        f"{view.status}: {view.drills_generated}/{view.target_drills} drills in "
        f"{view.total_batches} batch(es)" + (f"; warning: {view.warning}" if view.warning else "")
    )
    if view.status == "FAILED":
        raise typer.Exit(1)
