"""``nls dlq``: list dead letters, and replay them to their source topics."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from services.runtime.cli import console, fail, read, run
from services.runtime.dlq_replay import ReplayFilter, ReplayPlan, parse_since
from services.settings import Settings, get_settings

__all__ = ["dlq_app"]

dlq_app = typer.Typer(help="Dead letters: list them, replay them.", no_args_is_help=True)


@dlq_app.command("list")
def dlq_list(limit: Annotated[int, typer.Option(min=1, max=500)] = 20) -> None:
    """Dead letters, newest first: who failed on what, why, and whether it was replayed."""
    from projections.dead_letters import dead_letters

    rows = read(lambda conn: dead_letters(conn, limit=limit))
    if not rows:
        console.print("no dead letters")
        return
    # Five columns fit a narrow terminal; the values a reader filters on stay whole.
    table = Table(title="dead letters, newest first")
    table.add_column("failed at", no_wrap=True, min_width=8)
    table.add_column("agent / kind", no_wrap=True)
    table.add_column("source", overflow="fold", min_width=10)
    table.add_column("reason / bytes", overflow="fold", min_width=10)
    table.add_column("replayed", no_wrap=True, min_width=8)
    for r in rows:
        table.add_row(
            r.failed_at.strftime("%H:%M:%S"),
            Text(f"{r.agent}\n{r.kind}"),
            Text(f"{r.source_topic}:{r.source_partition}@{r.source_offset}"),
            Text(f"{r.reason[:80]}\n") + Text(r.original[:40], style="dim"),
            r.replayed_at.strftime("%H:%M:%S") if r.replayed_at else "-",
        )
    console.print(table)


def _selection(flt: ReplayFilter) -> str:
    parts = [
        f"{name} {value}" for name, value in (("agent", flt.agent), ("kind", flt.kind)) if value
    ]
    if flt.since:
        parts.append(f"since {flt.since:%Y-%m-%d %H:%M:%S} UTC")
    return f" ({', '.join(parts)})" if parts else ""


def _print_plan(plan: ReplayPlan, title: str) -> None:
    table = Table(title=title)
    # The coordinates, type and agents stay whole; the reason wraps in what is left.
    table.add_column("source", no_wrap=True)
    table.add_column("event type / dead-lettered by", no_wrap=True)
    table.add_column("why", overflow="fold", min_width=12)
    for o in plan.originals:
        agents = ", ".join(sorted({d.agent for d in o.dead_letters}))
        table.add_row(
            Text(str(o.source)),
            Text(f"{o.event_type or '?'}\n{agents}"),
            Text(o.dead_letters[0].reason[:120]),
        )
    console.print(table)


def _print_summary(plan: ReplayPlan) -> None:
    letters = sum(len(o.dead_letters) for o in plan.originals)
    console.print(
        f"[green]replayed {len(plan.originals)} event(s)[/] ({letters} dead letter(s)); "
        f"already replayed: {len(plan.already)}"
    )
    tally = plan.tally()
    if tally:
        table = Table("agent", "kind", "replayed", "already replayed", title="by agent and kind")
        for (agent, kind), (todo, done) in tally.items():
            table.add_row(agent, kind, str(todo), str(done))
        console.print(table)
    if plan.originals:
        console.print("Readers that had applied an event skip it: they dedupe by event id.")


def _replay(settings: Settings, flt: ReplayFilter) -> ReplayPlan:
    from projections.db import make_engine
    from services.bus.producer import EventPublisher
    from services.runtime.dlq_replayer import replay_dead_letters

    async def go() -> ReplayPlan:
        engine = make_engine(settings)
        try:
            async with EventPublisher(settings, client_id="dlq-replay") as publisher:
                with Progress(
                    TextColumn("replaying"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TextColumn("events"),
                    TimeElapsedColumn(),
                    console=console,
                ) as progress:
                    task = progress.add_task("replay", total=None)

                    def report(done: int, total: int) -> None:
                        progress.update(task, completed=done, total=total)

                    return await replay_dead_letters(
                        settings,
                        flt,
                        publisher=publisher,
                        engine=engine,
                        replayed_by="cli",
                        progress=report,
                    )
        finally:
            await engine.dispose()

    return run(go())


@dlq_app.command("replay")
def dlq_replay(
    agent: Annotated[
        str | None, typer.Option("--agent", "-a", help="only dead letters of this agent")
    ] = None,
    kind: Annotated[
        str | None, typer.Option("--kind", "-k", help="only this kind, e.g. handler_failed")
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(help="only those that failed since a duration (90s, 15m, 6h, 2d) or ISO time"),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="list what would be replayed; publish nothing")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="replay without asking")] = False,
) -> None:
    """Republish dead letters' original records to their source topics, once each.

    An original that several readers dead-lettered is republished once, and a
    marker in the dead-letter topic records the replay: replaying again
    republishes nothing. Readers that had applied the event skip it.
    """
    from services.runtime.dlq_replayer import plan_dead_letter_replay

    try:
        flt = ReplayFilter(agent=agent, kind=kind, since=parse_since(since) if since else None)
    except ValueError as exc:
        raise fail(f"--{exc}", 2) from None
    settings = get_settings()
    plan = run(plan_dead_letter_replay(settings, flt))
    selection = _selection(flt)
    if not plan.originals:
        console.print(
            f"nothing to replay{selection}: {len(plan.already)} matching dead letter(s) "
            "already replayed"
        )
        return
    letters = sum(len(o.dead_letters) for o in plan.originals)
    _print_plan(plan, f"to replay{selection}")
    if dry_run:
        console.print(
            f"dry run: {len(plan.originals)} event(s) would be republished ({letters} dead "
            f"letter(s)); already replayed: {len(plan.already)}. Nothing was published."
        )
        return
    if not yes:
        try:
            confirmed = typer.confirm(
                f"Republish {len(plan.originals)} event(s) to their source topics?", default=False
            )
        except typer.Abort:
            confirmed = False
        if not confirmed:
            raise fail("not confirmed: nothing replayed (--yes replays without asking)")
    _print_summary(_replay(settings, flt))
