"""The wiring point: every runnable agent by name, and how each is built.

``nls agent run <name>`` looks the name up here. Each agent is an independent
worker; run several processes of one agent to scale it up to its partitions.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from events import Context
from services.bus.admin import ensure_topics
from services.bus.producer import EventPublisher
from services.diagnosis.agent import Diagnoser
from services.runtime.batch_runner import BatchRunner
from services.settings import Settings

__all__ = ["AGENTS", "AgentSpec", "run_agent", "run_projector"]

Main = Callable[[Settings, asyncio.Event], Awaitable[None]]


@dataclass(frozen=True)
class AgentSpec:
    """An agent runs either as an asyncio main (batched consumers) or as a faust app."""

    name: str
    description: str
    main: Main | None = None
    faust_app: Callable[[Settings], Any] | None = None


async def run_diagnoser(settings: Settings, stop: asyncio.Event) -> None:
    await ensure_topics(settings)
    async with EventPublisher(settings, client_id="diagnoser") as publisher:
        runner = BatchRunner(
            Diagnoser(),
            settings=settings,
            publisher=publisher,
            topics=[settings.topics().domain(Context.LEARNING)],
            group_id=f"{settings.topic_prefix}.diagnoser",
        )
        await runner.run(stop)


async def run_projector(
    settings: Settings, stop: asyncio.Event, names: Sequence[str] | None = None
) -> None:
    """Run the named projections (all by default), each with its own consumer."""
    from projections.db import make_engine
    from projections.registry import PROJECTIONS, get_projection
    from projections.runner import Projector

    chosen = [get_projection(n) for n in names] if names else list(PROJECTIONS.values())
    await ensure_topics(settings)
    engine = make_engine(settings)
    try:
        async with EventPublisher(settings, client_id="projector") as publisher:
            projectors = [
                Projector(p, settings=settings, engine=engine, publisher=publisher) for p in chosen
            ]
            await asyncio.gather(*(p.run(stop) for p in projectors))
    finally:
        await engine.dispose()


async def run_remediation(settings: Settings, stop: asyncio.Event) -> None:
    from projections.db import make_engine
    from services.remediation.agents import RemediationRouter
    from services.remediation.settings import JitSettings
    from services.remediation.store import PostgresContentStore

    await ensure_topics(settings)
    engine = make_engine(settings, read_only=True)
    names = settings.topics()
    try:
        async with EventPublisher(settings, client_id="remediation") as publisher:
            router = RemediationRouter(
                PostgresContentStore(engine), enable_jit=JitSettings().enable_jit
            )
            runner = BatchRunner(
                router,
                settings=settings,
                publisher=publisher,
                topics=[names.domain(Context.LEARNING)],
                group_id=f"{settings.topic_prefix}.remediation",
            )
            await runner.run(stop)
    finally:
        await engine.dispose()


def jit_generator(settings: Settings) -> Any:
    """The JIT generator (faust, content topic) with a read-only store and the gateway."""
    from projections.db import make_engine
    from services.generation import build_gateway
    from services.remediation.agents import JitGenerator
    from services.remediation.service import JITGenerationService
    from services.remediation.settings import JitSettings
    from services.remediation.store import PostgresContentStore

    jit = JitSettings()
    service = JITGenerationService(
        PostgresContentStore(make_engine(settings, read_only=True)),
        build_gateway(),
        strategy=jit.jit_strategy,
    )
    return JitGenerator(service, concurrency=jit.jit_concurrency)


def build_jit_app(settings: Settings) -> Any:
    from services.runtime.faust_app import build_app

    handler = jit_generator(settings)
    return build_app(
        settings, "jit", handlers=[(handler, [settings.topics().domain(Context.CONTENT)])]
    )


async def run_drill_orchestrator(settings: Settings, stop: asyncio.Event) -> None:
    from projections.db import make_engine
    from projections.positions import library_of
    from services.drills.agents import SeriesOrchestrator
    from services.drills.settings import DrillSettings

    await ensure_topics(settings)
    engine = make_engine(settings, read_only=True)

    async def library(engine_id: str) -> Any:
        async with engine.connect() as conn:
            return await library_of(conn, engine_id)

    try:
        async with EventPublisher(settings, client_id="drill-orchestrator") as publisher:
            runner = BatchRunner(
                SeriesOrchestrator(library, batching=DrillSettings().enable_batch_drill_generation),
                settings=settings,
                publisher=publisher,
                topics=[settings.topics().domain(Context.DRILLS)],
                group_id=f"{settings.topic_prefix}.drill-orchestrator",
            )
            await runner.run(stop)
    finally:
        await engine.dispose()


def build_drill_batches_app(settings: Settings) -> Any:
    from services.drills.agents import BatchWorker
    from services.drills.settings import DrillSettings
    from services.generation import build_gateway
    from services.runtime.faust_app import build_app

    drills = DrillSettings()
    worker = BatchWorker(
        build_gateway(),
        strategy=drills.drill_strategy,
        concurrency=drills.drill_batch_concurrency,
    )
    topic = settings.topics().domain(Context.DRILLS)
    app = build_app(settings, "drill-batches", handlers=[(worker, [topic])])
    worker.announce = app.publisher.publish
    return app


def build_drill_series_app(settings: Settings) -> Any:
    from services.drills.saga import DrillSeriesSaga
    from services.runtime.faust_app import build_app

    return build_app(settings, "drill-series", sagas=[DrillSeriesSaga()])


def build_training_app(settings: Settings) -> Any:
    from services.generation import build_gateway
    from services.runtime.faust_app import build_app
    from services.strength.agent import TrainingJit
    from services.strength.settings import TrainingSettings

    handler = TrainingJit(build_gateway(), strategy=TrainingSettings().training_jit_strategy)
    topic = settings.topics().domain(Context.TRAINING)
    return build_app(settings, "training-jit", handlers=[(handler, [topic])])


AGENTS: dict[str, AgentSpec] = {
    spec.name: spec
    for spec in (
        AgentSpec("diagnoser", "answer-submitted -> failure-diagnosed (NCDE rules)", run_diagnoser),
        AgentSpec("projector", "folds every event into the Postgres read models", run_projector),
        AgentSpec(
            "remediation",
            "failure-diagnosed -> remediation plan, or a JIT request first (batched)",
            run_remediation,
        ),
        AgentSpec(
            "drill-orchestrator",
            "drill-series-requested -> batch-requested per batch of 5 (batched)",
            run_drill_orchestrator,
        ),
        AgentSpec(
            "drill-batches",
            "batch-requested -> batch-completed with its drills (faust, 5 at once)",
            faust_app=build_drill_batches_app,
        ),
        AgentSpec(
            "drill-series",
            "fan-in saga: all batches or the deadline -> drill-series-completed (faust)",
            faust_app=build_drill_series_app,
        ),
        AgentSpec(
            "training-jit",
            "session-jit-requested -> session-jit-generated (formula | llm | hybrid; faust)",
            faust_app=build_training_app,
        ),
        AgentSpec(
            "jit",
            "atom-generation-requested -> atoms-generated (+ the plan it completes); faust",
            faust_app=build_jit_app,
        ),
    )
}


async def run_agent(name: str, settings: Settings, stop: asyncio.Event) -> None:
    try:
        spec = AGENTS[name]
    except KeyError:
        raise KeyError(f"unknown agent {name!r} (known: {', '.join(sorted(AGENTS))})") from None
    if spec.main is None:
        raise ValueError(f"agent {name!r} runs as a faust worker: use `nls agent run {name}`")
    await spec.main(settings, stop)
