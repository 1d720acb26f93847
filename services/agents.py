"""The wiring point: every runnable agent by name, and how each is built.

``nls agent run <name>`` looks the name up here. Each agent is an independent
worker; run several processes of one agent to scale it up to its partitions.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

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
    name: str
    description: str
    main: Main


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


AGENTS: dict[str, AgentSpec] = {
    spec.name: spec
    for spec in (
        AgentSpec("diagnoser", "answer-submitted -> failure-diagnosed (NCDE rules)", run_diagnoser),
        AgentSpec("projector", "folds every event into the Postgres read models", run_projector),
    )
}


async def run_agent(name: str, settings: Settings, stop: asyncio.Event) -> None:
    try:
        spec = AGENTS[name]
    except KeyError:
        raise KeyError(f"unknown agent {name!r} (known: {', '.join(sorted(AGENTS))})") from None
    await spec.main(settings, stop)
