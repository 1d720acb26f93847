"""Commands on the log and the read models: the catalog's docs, publishing a file,
replay and checksums, usage statistics, and the model providers."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from services.errors import UnknownName
from services.runtime.cli import console, fail, platform, read, run
from services.settings import get_settings

__all__ = ["events_app", "llm_app", "projections_app", "register", "stats_app"]

events_app = typer.Typer(help="The event catalog.", no_args_is_help=True)
projections_app = typer.Typer(help="Read models.", no_args_is_help=True)
llm_app = typer.Typer(help="LLM providers of the generation gateway.", no_args_is_help=True)
stats_app = typer.Typer(help="Operational statistics.", no_args_is_help=True)


def _chosen(name: str | None) -> list[Any]:
    try:
        return platform().chosen_projections([name] if name else None)
    except UnknownName as exc:
        raise fail(str(exc), 2) from None


@events_app.command("docs")
def events_docs(
    out: Annotated[Path, typer.Option(help="directory to write")] = Path("docs"),
    check: Annotated[
        bool, typer.Option(help="fail if the files differ instead of writing")
    ] = False,
) -> None:
    """Write docs/events.md (with who produces, consumes and folds each type) and one JSON
    Schema per event type and shared model, from the catalog and the family registry."""
    files = platform().docs()
    stale = [
        p for p, text in files.items() if not (out / p).exists() or (out / p).read_text() != text
    ]
    if check:
        if stale:
            raise fail(f"{len(stale)} file(s) drifted from the catalog: {', '.join(stale)}")
        console.print(f"[green]{len(files)} files match the catalog[/]")
        return
    for p, text in files.items():
        (out / p).parent.mkdir(parents=True, exist_ok=True)
        (out / p).write_text(text)
    console.print(f"wrote {len(files)} files under {out}/ ({len(stale)} changed)")


def publish(
    path: Annotated[Path, typer.Argument(help="a JSON event, a JSON array, or JSON lines")],
) -> None:
    """Validate events from a file and publish them; nothing is published if one is invalid."""
    from events import CATALOG, EventError

    if not path.exists():
        raise fail(f"{path}: no such file")
    text = path.read_bytes().strip()
    try:
        raw = orjson.loads(text)
        items = raw if isinstance(raw, list) else [raw]
    except orjson.JSONDecodeError:
        items = []
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    items.append(orjson.loads(line))
                except orjson.JSONDecodeError as exc:
                    raise fail(f"{path}:{n}: not JSON: {exc}") from None
    envelopes = []
    for i, item in enumerate(items):
        try:
            envelopes.append(CATALOG.validate(item, fill_defaults=True, source="cli"))
        except EventError as exc:
            raise fail(f"{path}: event {i}: {exc.reason}") from None

    async def go() -> None:
        from services.bus.admin import ensure_topics
        from services.bus.producer import EventPublisher

        s = get_settings()
        await ensure_topics(s)
        async with EventPublisher(s, client_id="cli") as pub:
            await pub.publish(envelopes)

    run(go())
    console.print(f"published {len(envelopes)} event(s)")


def replay(
    projection: Annotated[
        str | None, typer.Option("--projection", "-p", help="one read model")
    ] = None,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="processes folding partitions in parallel")
    ] = os.cpu_count() or 1,
) -> None:
    """Rebuild read models from offset 0 into fresh tables, then swap them in atomically."""
    from projections.db import make_engine
    from projections.replay import rebuild
    from services.bus.producer import EventPublisher
    from services.runtime.worker import tune_gc

    chosen = _chosen(projection)

    async def go() -> None:
        tune_gc()
        s = get_settings()
        engine = make_engine(s)
        try:
            async with EventPublisher(s, client_id="replay") as pub:
                with Progress(
                    TextColumn("{task.description}"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TextColumn("events"),
                    TimeElapsedColumn(),
                    console=console,
                ) as progress:
                    for p in chosen:
                        task = progress.add_task(f"rebuilding {p.name}", total=None)

                        def report(done: int, total: int, task: Any = task) -> None:
                            progress.update(task, completed=done, total=total)

                        result = await rebuild(
                            p,
                            settings=s,
                            engine=engine,
                            publisher=pub,
                            progress=report,
                            workers=workers,
                        )
                        progress.update(
                            task, description=f"{p.name}: {result.applied} applied, swapped in"
                        )
        finally:
            await engine.dispose()

    run(go())


@projections_app.command("checksum")
def projections_checksum(
    projection: Annotated[str | None, typer.Option("--projection", "-p")] = None,
) -> None:
    """A stable digest per read model (equal digests: equal rows)."""
    from projections.checksum import checksum
    from projections.db import make_engine

    chosen = _chosen(projection)

    async def go() -> list[tuple[str, str, list[Any]]]:
        engine = make_engine(get_settings())
        try:
            return [(p.name, *(await checksum(engine, p))) for p in chosen]
        finally:
            await engine.dispose()

    table = Table("read model", "digest", "tables (rows)")
    for name, digest, tables in run(go()):
        table.add_row(name, digest[:32], ", ".join(f"{t.table} ({t.rows})" for t in tables))
    console.print(table)


@llm_app.command("check")
def llm_check(
    timeout: Annotated[float, typer.Option(min=0.1, help="seconds per provider")] = 15.0,
) -> None:
    """Which providers are configured, whether each answers, and what `auto` resolves to."""
    from services.generation.check import check_providers
    from services.generation.faults import FaultSpec
    from services.generation.settings import GenerationSettings

    try:
        settings = GenerationSettings()
        faults = FaultSpec.parse(settings.faults) if settings.faults else None
    except ValueError as exc:
        raise fail(str(exc)) from None
    statuses, auto = run(check_providers(settings, timeout_s=timeout))
    table = Table("provider", "configured", "model", "endpoint", "answers", "latency", "detail")
    for s in statuses:
        answers = {None: "-", True: "[green]yes[/]", False: "[red]no[/]"}[s.answered]
        table.add_row(
            s.name,
            "yes" if s.configured else "no",
            s.model,
            s.base_url,
            answers,
            f"{s.latency_ms:.0f} ms" if s.latency_ms is not None else "-",
            s.detail,
        )
    console.print(table)
    if faults:
        console.print(f"fault injection on: {faults}")
    console.print(f"strategy auto resolves to: [bold]{auto}[/]")
    if any(s.answered is False for s in statuses):
        raise typer.Exit(1)


@stats_app.command("usage")
def stats_usage(
    family: Annotated[str | None, typer.Option("--family", "-f", help="one family")] = None,
    since: Annotated[
        str | None, typer.Option(help="only calls since an ISO time or a duration: 90m, 6h, 2d")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Generation calls, tokens, cost, latency and fallback rate by family, strategy, provider."""
    from projections.usage import usage_stats

    start = _since(since) if since else None
    rows = read(lambda conn: usage_stats(conn, family=family, since=start))
    if as_json:
        console.print_json(orjson.dumps([r.model_dump(mode="json") for r in rows]).decode())
        return
    if not rows:
        console.print("no generation recorded yet")
        return
    table = Table(
        "family",
        "strategy",
        "provider",
        "calls",
        "tokens in",
        "cached",
        "tokens out",
        "cost $",
        "p50 ms",
        "p95 ms",
        "fallback",
        title="generation usage",
    )
    for r in rows:
        table.add_row(
            r.family,
            r.strategy,
            r.provider or "-",
            str(r.calls),
            f"{r.input_tokens:,}",
            f"{r.cached_tokens:,}",
            f"{r.output_tokens:,}",
            f"{r.cost_usd:.4f}",
            f"{r.latency_p50_ms:.0f}",
            f"{r.latency_p95_ms:.0f}",
            f"{r.fallback_rate:.1%}",
        )
    console.print(table)


def _since(text: str) -> datetime:
    units = {"m": "minutes", "h": "hours", "d": "days"}
    if text[:-1].isdigit() and text[-1] in units:
        return datetime.now(UTC) - timedelta(**{units[text[-1]]: int(text[:-1])})
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise fail(f"--since {text!r}: expected an ISO time or a duration: 90m, 6h, 2d") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def register(app: typer.Typer) -> None:
    app.add_typer(events_app, name="events")
    app.add_typer(projections_app, name="projections")
    app.add_typer(llm_app, name="llm")
    app.add_typer(stats_app, name="stats")
    app.command("publish")(publish)
    app.command("replay")(replay)
