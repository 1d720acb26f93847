"""The ``nls`` command line."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from services.drills.cli import drills_app, positions_app
from services.logging import configure_logging
from services.settings import Settings, get_settings
from tools.cli.common import console, fail, read, run
from tools.cli.content import content_app, generate_app
from tools.cli.dlq import dlq_app
from tools.cli.training import training_app

app = typer.Typer(
    help="nls: event-sourced AI content generation for learning apps.", no_args_is_help=True
)
events_app = typer.Typer(help="The event catalog.", no_args_is_help=True)
agent_app = typer.Typer(help="Run agents and projectors.", no_args_is_help=True)
projections_app = typer.Typer(help="Read models.", no_args_is_help=True)
query_app = typer.Typer(help="Query the read models.", no_args_is_help=True)
dev_app = typer.Typer(help="The embedded dev stack.", no_args_is_help=True)
llm_app = typer.Typer(help="LLM providers of the generation gateway.", no_args_is_help=True)
stats_app = typer.Typer(help="Operational statistics.", no_args_is_help=True)

for sub, name in [
    (events_app, "events"),
    (agent_app, "agent"),
    (projections_app, "projections"),
    (query_app, "query"),
    (dlq_app, "dlq"),
    (dev_app, "dev"),
    (llm_app, "llm"),
    (stats_app, "stats"),
    (content_app, "content"),
    (generate_app, "generate"),
    (positions_app, "positions"),
    (drills_app, "drills"),
    (training_app, "training"),
]:
    app.add_typer(sub, name=name)


# events --------------------------------------------------------------------------
@events_app.command("docs")
def events_docs(
    out: Annotated[Path, typer.Option(help="directory to write")] = Path("docs"),
    check: Annotated[
        bool, typer.Option(help="fail if the files differ instead of writing")
    ] = False,
) -> None:
    """Write docs/events.md and one JSON Schema per event type from the catalog."""
    from events.docs import render

    files = render()
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


@app.command("publish")
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


# agents --------------------------------------------------------------------------
@agent_app.command("list")
def agent_list() -> None:
    """The agents this installation can run."""
    from services.agents import AGENTS

    table = Table("agent", "what it does")
    for spec in AGENTS.values():
        table.add_row(spec.name, spec.description)
    console.print(table)


@agent_app.command("run")
def agent_run(
    name: Annotated[str, typer.Argument(help="agent name (see `nls agent list`)")],
    projection: Annotated[
        list[str] | None, typer.Option("--projection", "-p", help="projector only: which")
    ] = None,
) -> None:
    """Run one agent as a worker until SIGTERM/SIGINT. Start more to scale out."""
    from services.agents import AGENTS, run_agent, run_projector
    from services.runtime.worker import run_until_signalled

    configure_logging()
    if name not in AGENTS:
        raise fail(f"unknown agent {name!r} (known: {', '.join(sorted(AGENTS))})", 2)
    s = get_settings()
    spec = AGENTS[name]
    if spec.faust_app is not None:
        from services.runtime.faust_app import run_worker

        run_worker(spec.faust_app(s))
    elif name == "projector":
        run(run_until_signalled(lambda stop: run_projector(s, stop, projection)))
    else:
        run(run_until_signalled(lambda stop: run_agent(name, s, stop)))


@app.command("api")
def api() -> None:
    """Serve the HTTP API (needs NLS_API_TOKEN)."""
    import uvicorn

    from services.api.app import create_app

    configure_logging()
    s = get_settings()
    if not s.api_token:
        raise fail("set NLS_API_TOKEN: every endpoint but /healthz needs the bearer token")
    uvicorn.run(create_app(s), host=s.api_host, port=s.api_port, log_level="warning")


# projections ---------------------------------------------------------------------
def _chosen(name: str | None) -> list[Any]:
    from projections.registry import PROJECTIONS, get_projection

    return [get_projection(name)] if name else list(PROJECTIONS.values())


@app.command("replay")
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

    try:
        chosen = _chosen(projection)
    except KeyError as exc:
        raise fail(str(exc).strip("'\""), 2) from None

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

    try:
        chosen = _chosen(projection)
    except KeyError as exc:
        raise fail(str(exc).strip("'\""), 2) from None

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


# queries -------------------------------------------------------------------------
@query_app.command("diagnoses")
def query_diagnoses(
    learner: Annotated[str, typer.Option("--learner", "-l", help="learner id")],
    limit: Annotated[int, typer.Option(min=1, max=500)] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """A learner's diagnoses, newest first."""
    from projections import queries

    rows = read(lambda conn: queries.diagnoses_of(conn, learner, limit=limit))
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


# generation ----------------------------------------------------------------------
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
    from projections import queries

    start = _since(since) if since else None
    rows = read(lambda conn: queries.usage_stats(conn, family=family, since=start))
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


# dev stack -----------------------------------------------------------------------
@dev_app.command("up")
def dev_up() -> None:
    """Start the embedded stack (broker, Postgres, agents, projectors, API) until Ctrl-C."""
    from services.runtime.worker import run_until_signalled
    from tools.devstack.stack import DevStack

    configure_logging()

    async def go(stop: asyncio.Event) -> None:
        stack = DevStack(Settings())
        try:
            info = await stack.start()
            await stack.wait_api()
            _print_stack(info)
            await stop.wait()
        finally:
            await stack.stop()

    run(run_until_signalled(go))


def _print_stack(info: Any) -> None:
    table = Table(title="nls dev stack", show_header=False)
    table.add_row("broker", f"{info.bootstrap}  [{info.broker_origin}]")
    table.add_row("postgres", f"{info.database_url}  [{info.postgres_origin}]")
    table.add_row("API", f"{info.api_url}  (Authorization: Bearer {info.api_token})")
    table.add_row("env", "written to .nls/stack.env for other nls commands")
    console.print(table)
    if info.broker_origin.startswith("embedded"):
        console.print(
            "[yellow]The embedded broker keeps events in memory only: stopping it loses the log. "
            "infra/redpanda-compose.yml is the durable deployment.[/]"
        )
    console.print("Ctrl-C stops everything.")


@app.command("demo")
def demo(
    learners: Annotated[int, typer.Option(min=1, max=10_000)] = 24,
    answers: Annotated[int, typer.Option(help="answers per learner", min=1, max=1000)] = 40,
) -> None:
    """Start the embedded stack, publish a scripted stream of answers, print the read models."""
    from tools.demo import run_demo

    os.environ.setdefault("NLS_LOG_LEVEL", "warning")  # the workers' logs, too
    configure_logging()
    run(run_demo(Settings(), console, learners=learners, answers=answers))


if __name__ == "__main__":
    app()
