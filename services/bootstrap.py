"""The one wiring point: the platform, assembled from the families' declarations.

``bootstrap(settings, **overrides)`` reads ``services.registry.FAMILIES`` and
returns a ``Platform``: every agent by name (with what it consumes and
produces), every read model, the API's routers, the CLI's command groups,
and how to run an agent. The CLI, ``nls dev up``, the API, the benchmarks
and the tests all start here; tests pass ``overrides`` (a fake gateway, a
fake store) instead of copying the wiring.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from events import CATALOG
from services.errors import UnknownName
from services.registry import FAMILIES
from services.runtime.family import AgentSpec, Deps, FamilySpec, load
from services.settings import Latency, Settings

if TYPE_CHECKING:
    from fastapi import APIRouter

    from projections.base import Projection
    from services.runtime.faust_app import AgentApp

__all__ = ["CORE", "PROJECTOR", "Platform", "Wiring", "bootstrap", "family_specs"]


def _no_handler(deps: Deps) -> Any:
    raise TypeError("the projector runs read models, not a handler")


PROJECTOR = AgentSpec(
    "projector",
    "folds every event into the Postgres read models (checkpoint in the same transaction)",
    consumes=(),
    produces=(),
    runner="projector",
    build=_no_handler,
)

# What belongs to no family: the projector and the operational read models.
CORE = FamilySpec(
    name="platform",
    summary="the projector, dead letters, model usage and workflows",
    agents=(PROJECTOR,),
    read_models=(
        "projections.dead_letters:DeadLettersProjection",
        "projections.usage:UsageProjection",
        "projections.workflows:WorkflowsProjection",
    ),
)


@dataclass(frozen=True)
class Wiring:
    """Who produces, consumes and folds one event type."""

    producers: tuple[str, ...]
    consumers: tuple[str, ...]
    read_models: tuple[str, ...]


class Platform:
    def __init__(
        self, settings: Settings, families: Sequence[FamilySpec], overrides: Mapping[str, Any]
    ) -> None:
        self.settings = settings
        self.families = tuple(families)
        self.overrides = dict(overrides)

    # what there is ---------------------------------------------------------------
    @cached_property
    def agents(self) -> dict[str, AgentSpec]:
        found: dict[str, AgentSpec] = {}
        for family in self.families:
            for spec in family.agents:
                if spec.name in found:
                    raise ValueError(f"agent {spec.name!r} is declared twice")
                found[spec.name] = spec
        return found

    def agent(self, name: str) -> AgentSpec:
        try:
            return self.agents[name]
        except KeyError:
            raise UnknownName("agent", name, self.agents) from None

    @cached_property
    def projections(self) -> dict[str, Projection]:
        found: dict[str, Projection] = {}
        for family in self.families:
            for ref in family.read_models:
                projection = load(ref)()
                if projection.name in found:
                    raise ValueError(f"read model {projection.name!r} is declared twice")
                found[projection.name] = projection
        return found

    def projection(self, name: str) -> Projection:
        try:
            return self.projections[name]
        except KeyError:
            raise UnknownName("read model", name, self.projections) from None

    def projector_processes(self) -> dict[str, list[str]]:
        """How a deployment runs the projector: the read models a learner waits on
        (``latency`` other than bulk) in a process of their own, so the bulk folds of the others
        (content, workflows, usage, ...) never delay them; name -> read models."""
        groups: dict[str, list[str]] = {"projector": [], "projector-interactive": []}
        for name, projection in self.projections.items():
            bulk = projection.latency is Latency.BULK
            groups["projector" if bulk else "projector-interactive"].append(name)
        return {process: names for process, names in groups.items() if names}

    def chosen_projections(self, names: Iterable[str] | None) -> list[Projection]:
        names = list(names or ())
        return [self.projection(n) for n in names] if names else list(self.projections.values())

    def routers(self) -> list[APIRouter]:
        return [load(f.router) for f in self.families if f.router]

    def cli_groups(self) -> dict[str, str]:
        groups: dict[str, str] = {}
        for family in self.families:
            for name, ref in family.cli.items():
                if name in groups:
                    raise ValueError(f"command group {name!r} is declared twice")
                groups[name] = ref
        return groups

    def consumes(self, spec: AgentSpec) -> frozenset[str]:
        """The event types an agent takes (the projector: every type a read model folds)."""
        if spec.runner != "projector":
            return spec.consumed_types
        return frozenset(
            t
            for p in self.projections.values()
            for t in (s.event_type for s in CATALOG)
            if p.decodes and p.wants(t)
        )

    def wiring(self) -> dict[str, Wiring]:
        """Per event type: the agents that produce and consume it, the read models that fold it."""
        out: dict[str, Wiring] = {}
        for spec in CATALOG:
            t = spec.event_type
            producers = [a.name for a in self.agents.values() if t in a.produced_types]
            producers += [
                "apps, API, CLI" for f in self.families if any(i.event_type == t for i in f.inputs)
            ][:1]
            consumers = [
                a.name
                for a in self.agents.values()
                if a.runner != "projector" and t in a.consumed_types
            ]
            folded = [p.name for p in self.projections.values() if p.decodes and p.wants(t)]
            out[t] = Wiring(tuple(producers), tuple(consumers), tuple(folded))
        return out

    def docs(self) -> dict[str, str]:
        """docs/events.md and the JSON Schemas, with the wiring and the families' models."""
        from events.docs import render

        models = {t: load(ref) for f in self.families for t, ref in f.models.items()}
        return render(CATALOG, wiring=self.wiring(), models=models)

    # running -----------------------------------------------------------------------
    def deps(self) -> Deps:
        return Deps(self.settings, self.overrides)

    async def run(
        self,
        name: str,
        stop: asyncio.Event,
        *,
        projections: Sequence[str] = (),
        inline: bool = False,
    ) -> None:
        """Run a batched agent (or the projector) until ``stop``.

        A faust agent runs as a faust worker (``faust_app``); with ``inline`` it runs
        here instead, its handler (or saga, with an in-memory store and a deadline
        ticker) on the batched runner behind the same guard: tests and benchmarks
        run whole flows in one process that way.
        """
        spec = self.agent(name)
        if spec.runner == "faust" and not inline:
            raise UnknownName("batched agent", name, self._batched())
        from services.bus.admin import ensure_topics
        from services.bus.producer import EventPublisher

        await ensure_topics(self.settings)
        async with (
            self.deps() as deps,
            EventPublisher(self.settings, client_id=spec.name) as own,
        ):
            publisher = self.overrides.get("publisher", own)
            if spec.runner == "projector":
                await self._run_projector(publisher, projections, stop)
                return
            await self._run_inline(spec, spec.build(deps), publisher, stop)

    async def _run_inline(
        self, spec: AgentSpec, built: Any, publisher: Any, stop: asyncio.Event
    ) -> None:
        from services.runtime.batch_runner import BatchRunner
        from services.runtime.saga import InMemorySagaStore, Saga, SagaHandler, tick_deadlines

        ticker: asyncio.Task[None] | None = None
        if isinstance(built, Saga):
            built = SagaHandler(built, InMemorySagaStore(built.state_type), publisher)
            ticker = asyncio.create_task(
                tick_deadlines(built, publisher, self.settings.saga_tick_s, stop)
            )
        runner = BatchRunner(
            built,
            settings=self.settings.for_consumer(spec.latency),
            publisher=publisher,
            topics=spec.topics(self.settings),
            group_id=f"{self.settings.topic_prefix}.{spec.name}",
        )
        try:
            await runner.run(stop)
        finally:
            if ticker is not None:
                await ticker

    def _batched(self) -> dict[str, AgentSpec]:
        return {n: a for n, a in self.agents.items() if a.runner != "faust"}

    async def _run_projector(
        self, publisher: Any, names: Sequence[str], stop: asyncio.Event
    ) -> None:
        from projections.db import make_engine
        from projections.runner import Projector, setup_tables

        chosen = self.chosen_projections(names)
        # A connection for each read model, folding at once: none waits for another's.
        engine = make_engine(self.settings, pool_size=max(self.settings.db_pool_size, len(chosen)))
        try:
            await setup_tables(engine, *chosen)  # once, before each projector checks them
            await asyncio.gather(
                *(
                    Projector(
                        p,
                        settings=self.settings.for_consumer(p.latency),
                        engine=engine,
                        publisher=publisher,
                    ).run(stop)
                    for p in chosen
                )
            )
        finally:
            await engine.dispose()

    def faust_app(self, name: str) -> AgentApp:
        """The faust app of a faust agent; its resources close when the app stops."""
        spec = self.agent(name)
        if spec.runner != "faust":
            raise UnknownName(
                "faust agent", name, {n: a for n, a in self.agents.items() if a.runner == "faust"}
            )
        from services.runtime.faust_app import build_app
        from services.runtime.saga import Saga

        deps = self.deps()
        built = spec.build(deps)
        settings = self.settings.for_consumer(spec.latency)
        if isinstance(built, Saga):
            app = build_app(settings, spec.name, sagas=[built], deps=deps)
        else:
            app = build_app(
                settings, spec.name, handlers=[(built, spec.topics(settings))], deps=deps
            )
        return app


def family_specs() -> list[FamilySpec]:
    """The platform's own declaration, then every registered family's."""
    return [CORE, *(load(ref) for ref in FAMILIES)]


def bootstrap(settings: Settings, **overrides: Any) -> Platform:
    """The platform of this installation, with ``overrides`` for its resources."""
    return Platform(settings, family_specs(), overrides)
