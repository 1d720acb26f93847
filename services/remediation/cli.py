"""``nls generate``: JIT generation by operators.

It runs the JIT service in this process (rules or LLM, as configured), with the
store and gateway the jit agent has, and publishes the request and its result
as events, so the atoms reach ``learning_atoms`` like any others.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from events import Envelope
from events.content import (
    Atom,
    AtomGenerationRequested,
    ConceptImported,
    ContentType,
    GenerationTrigger,
)
from services.errors import NotFound
from services.runtime.cli import console, platform, progress_bar, read, run

if TYPE_CHECKING:
    from services.bus.producer import EventPublisher
    from services.remediation.service import JITGenerationService
    from services.remediation.store import ContentStore

__all__ = ["generate_app"]

generate_app = typer.Typer(help="Generate atoms just in time.", no_args_is_help=True)

StrategyOpt = Annotated[
    str, typer.Option("--strategy", "-s", help="rules, llm or auto (llm when configured)")
]


@dataclass
class _Jit:
    service: JITGenerationService
    store: ContentStore
    publisher: EventPublisher | None


@asynccontextmanager
async def _jit(strategy: str, *, publish: bool) -> AsyncIterator[_Jit]:
    """The JIT service as the jit agent has it (the platform's store and gateway)."""
    from services.bus.admin import ensure_topics
    from services.bus.producer import EventPublisher
    from services.remediation.family import content_store
    from services.remediation.service import CollectingSink, JITGenerationService

    # A dry run keeps nothing: the sink only collects.
    sink = CollectingSink() if not publish else None
    async with platform().deps() as deps:
        store = content_store(deps)
        service = JITGenerationService(store, deps.gateway(), strategy=strategy, sink=sink)
        if not publish:
            yield _Jit(service, store, None)
            return
        await ensure_topics(deps.settings)
        async with EventPublisher(deps.settings, client_id="cli-generate") as pub:
            yield _Jit(service, store, pub)


async def _resolve(store: ContentStore, ref: str) -> uuid.UUID:
    try:
        concept_id = uuid.UUID(ref)
    except ValueError:
        matches = [c for c, _ in await store.atom_counts() if c.slug == ref]
        if not matches:
            raise NotFound(
                f"no concept {ref!r}: give its UUID or slug (see `nls generate gaps -n`)"
            ) from None
        return matches[0].concept_id
    if await store.concept(concept_id) is None:
        raise NotFound(f"no concept {concept_id} in the read models (import a pack first)")
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
            asked = request.payload_as(AtomGenerationRequested)
            with console.status("generating..."):
                result = await jit.service.generate_for_gap(request_of(asked, request))
            if jit.publisher is not None and result.atoms:
                answer = result_event(request, asked, result, source="cli")
                await jit.publisher.publish([request, answer])
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
        from services.remediation.family import content_store

        async with platform().deps() as deps:
            return await content_store(deps).atom_counts(cluster=cluster)

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
                    asked = request.payload_as(AtomGenerationRequested)
                    result = await jit.service.generate_for_gap(request_of(asked, request))
                    assert jit.publisher is not None
                    answer = result_event(request, asked, result, source="cli")
                    await jit.publisher.publish([request, answer])
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
    from projections.content import jit_stats

    stats = read(jit_stats)
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
