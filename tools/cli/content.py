"""``nls content`` and ``nls generate``: content packs and JIT generation by operators.

``generate`` runs the JIT service in this process (rules or LLM, as configured),
reading concepts and atoms from the read models, and publishes the request and
its result as events, so the atoms reach ``learning_atoms`` like any others.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from events import Envelope
from events.content import (
    Atom,
    AtomGenerationRequested,
    ConceptImported,
    ContentType,
    GenerationTrigger,
)
from services.bus.producer import EventPublisher
from services.remediation.service import JITGenerationService
from services.remediation.store import PostgresContentStore
from services.settings import get_settings
from tools.cli.common import console, fail, read, run

__all__ = ["content_app", "generate_app", "progress_bar"]

content_app = typer.Typer(
    help="Content packs: concepts, facts, authored atoms.", no_args_is_help=True
)
generate_app = typer.Typer(help="Generate atoms just in time.", no_args_is_help=True)

StrategyOpt = Annotated[
    str, typer.Option("--strategy", "-s", help="rules, llm or auto (llm when configured)")
]


# content -----------------------------------------------------------------------------
@content_app.command("import")
def content_import(
    path: Annotated[Path, typer.Argument(help="pack directory (with pack.yaml)")],
    dry_run: Annotated[bool, typer.Option("--dry-run", "-n", help="validate only")] = False,
) -> None:
    """Validate a content pack and publish its concepts and atoms (all or nothing)."""
    from services.content.pack import PackError, load_pack

    try:
        pack = load_pack(path)
    except PackError as exc:
        raise fail(str(exc)) from None
    events = pack.events()
    clusters = len({c.cluster_id for c in pack.concepts})
    summary = (
        f"pack {pack.name} v{pack.version}: {len(pack.concepts)} concepts in {clusters} "
        f"clusters, {sum(len(c.facts) for c in pack.concepts)} facts, {len(pack.atoms)} atoms"
    )
    if dry_run:
        console.print(f"{summary}: valid, nothing published (--dry-run)")
        return

    async def go() -> None:
        from services.bus.admin import ensure_topics
        from services.bus.producer import EventPublisher

        s = get_settings()
        await ensure_topics(s)
        async with EventPublisher(s, client_id="content-import") as pub:
            with progress_bar() as progress:
                task = progress.add_task("importing", total=len(events))
                for i in range(0, len(events), 200):
                    await pub.publish(events[i : i + 200])
                    progress.advance(task, len(events[i : i + 200]))

    run(go())
    console.print(f"{summary}: published {len(events)} events")


# generate ----------------------------------------------------------------------------
@dataclass
class _Jit:
    service: JITGenerationService
    store: PostgresContentStore
    publisher: EventPublisher | None


@asynccontextmanager
async def _jit(strategy: str, *, publish: bool) -> AsyncIterator[_Jit]:
    from projections.db import make_engine
    from services.bus.admin import ensure_topics
    from services.generation import build_gateway
    from services.remediation.service import CollectingSink

    s = get_settings()
    engine = make_engine(s, read_only=True)
    store = PostgresContentStore(engine)
    # A dry run keeps nothing: the sink only collects.
    sink = CollectingSink() if not publish else None
    try:
        async with build_gateway() as gateway:
            service = JITGenerationService(store, gateway, strategy=strategy, sink=sink)
            if not publish:
                yield _Jit(service, store, None)
                return
            await ensure_topics(s)
            async with EventPublisher(s, client_id="cli-generate") as pub:
                yield _Jit(service, store, pub)
    finally:
        await engine.dispose()


async def _resolve(store: PostgresContentStore, ref: str) -> uuid.UUID:
    try:
        concept_id = uuid.UUID(ref)
    except ValueError:
        matches = [c for c, _ in await store.atom_counts() if c.slug == ref]
        if not matches:
            raise ValueError(
                f"no concept {ref!r}: give its UUID or slug (see `nls generate gaps -n`)"
            ) from None
        return matches[0].concept_id
    if await store.concept(concept_id) is None:
        raise ValueError(f"no concept {concept_id} in the read models (import a pack first)")
    return concept_id


def _request_event(
    concept_id: uuid.UUID,
    trigger: GenerationTrigger,
    content_type: ContentType,
    count: int,
    strategy: str,
) -> Envelope:
    return Envelope.new(
        AtomGenerationRequested(
            concept_id=concept_id,
            trigger=trigger,
            content_types=[content_type],
            atom_count=count,
            strategy=strategy,  # type: ignore[arg-type]
        ),
        source="cli",
    )


def _atom_table(atoms: list[Atom], title: str) -> Table:
    table = Table("type", "question", "answer", "strategy", title=title, show_lines=True)
    for a in atoms:
        table.add_row(a.atom_type.value, a.front, a.back, a.strategy or "-")
    return table


@generate_app.command("concept")
def generate_concept(
    concept: Annotated[str, typer.Argument(help="concept UUID (or slug)")],
    count: Annotated[int, typer.Option("--count", "-c", min=1, max=20)] = 3,
    content_type: Annotated[
        ContentType, typer.Option("--type", "-t", help="practice, explanation, worked_example")
    ] = ContentType.PRACTICE,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", "-n", help="preview without saving")
    ] = False,
    strategy: StrategyOpt = "auto",
) -> None:
    """Generate atoms for one concept (a user request)."""
    from services.remediation.agents import request_of, result_event

    async def go() -> tuple[list[Atom], list[str]]:
        async with _jit(strategy, publish=not dry_run) as jit:
            concept_id = await _resolve(jit.store, concept)
            request = _request_event(
                concept_id, GenerationTrigger.USER_REQUEST, content_type, count, strategy
            )
            with console.status("generating..."):
                result = await jit.service.generate_for_gap(
                    request_of(request.payload_as(AtomGenerationRequested))
                )
            if jit.publisher is not None and result.atoms:
                await jit.publisher.publish([request, result_event(request, result, source="cli")])
            return result.atoms, result.errors

    atoms, errors = run(go())
    verb = "would generate" if dry_run else "generated"
    console.print(_atom_table(atoms, f"{verb} {len(atoms)} atom(s)"))
    for e in errors:
        console.print(f"[yellow]warning:[/] {e}")
    if not atoms:
        raise typer.Exit(1)


@generate_app.command("gaps")
def generate_gaps(
    cluster: Annotated[
        str | None, typer.Option("--cluster", "-c", help="cluster UUID or slug")
    ] = None,
    min_atoms: Annotated[int, typer.Option("--min-atoms", min=1, max=20)] = 3,
    dry_run: Annotated[bool, typer.Option("--dry-run", "-n", help="list only")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="fill without asking")] = False,
    strategy: StrategyOpt = "auto",
) -> None:
    """Find concepts with fewer than --min-atoms atoms and fill them (missing coverage)."""

    async def counts() -> list[tuple[ConceptImported, int]]:
        from projections.db import make_engine

        engine = make_engine(get_settings(), read_only=True)
        try:
            return await PostgresContentStore(engine).atom_counts(cluster=cluster)
        finally:
            await engine.dispose()

    gaps = [(c, n) for c, n in run(counts()) if n < min_atoms]
    if not gaps:
        console.print(f"no gaps: every concept has at least {min_atoms} atoms")
        return
    table = Table("concept", "slug", "cluster", "atoms", "missing", title=f"{len(gaps)} gap(s)")
    for c, n in gaps:
        table.add_row(str(c.concept_id), c.slug, c.cluster_slug, str(n), str(min_atoms - n))
    console.print(table)
    if dry_run or not (yes or typer.confirm(f"Generate atoms for {len(gaps)} concept(s)?")):
        return
    from services.remediation.agents import request_of, result_event

    async def fill() -> tuple[int, list[str]]:
        made, problems = 0, []
        async with _jit(strategy, publish=True) as jit:
            with progress_bar() as progress:
                task = progress.add_task("filling gaps", total=len(gaps))
                for c, n in gaps:
                    request = _request_event(
                        c.concept_id,
                        GenerationTrigger.MISSING_COVERAGE,
                        ContentType.PRACTICE,
                        min_atoms - n,
                        strategy,
                    )
                    result = await jit.service.generate_for_gap(
                        request_of(request.payload_as(AtomGenerationRequested))
                    )
                    assert jit.publisher is not None
                    await jit.publisher.publish(
                        [request, result_event(request, result, source="cli")]
                    )
                    made += len(result.atoms)
                    problems += [f"{c.slug}: {e}" for e in result.errors]
                    progress.advance(task)
        return made, problems

    made, problems = run(fill())
    console.print(f"generated {made} atom(s) for {len(gaps)} concept(s)")
    for p in problems:
        console.print(f"[yellow]warning:[/] {p}")


@generate_app.command("stats")
def generate_stats() -> None:
    """Atoms in the read models and how many were generated just in time, by trigger."""
    from projections import queries

    stats = read(queries.jit_stats)
    table = Table("Metric", "Value")
    share = stats.jit_generated / stats.total_atoms if stats.total_atoms else 0.0
    table.add_row("Total atoms", f"{stats.total_atoms:,}")
    table.add_row("JIT-generated", f"{stats.jit_generated:,} ({share:.1%})")
    table.add_row("", "")
    table.add_row("By trigger:", "")
    for trigger in GenerationTrigger:
        label = trigger.value.replace("_", " ").capitalize()
        table.add_row(f"  {label}", f"{stats.by_trigger.get(trigger.value, 0):,}")
    console.print(table)


def progress_bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )
