"""How a family declares itself: its agents, read models, HTTP routes, CLI commands.

A family is one package, ``services/<family>/``, whose ``family.py`` exports
one ``FamilySpec``. Everything that lists agents, read models, routes or
commands (the CLI, ``nls dev up``, the API, the compose test, docs/events.md)
reads those declarations through ``services.bootstrap``; nothing lists them
twice.

Declarations are cheap to import: builders import what they build when they
run, and read models, routers and CLI apps are named by ``"module:attribute"``
references that are only imported when used, so ``nls --help`` and a worker
of one agent load no more than they need.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from events import CATALOG, Payload, TopicNames
from events.sagas import SagaDeadlineReached
from services.settings import Latency, Settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from services.generation import Gateway

__all__ = ["AgentSpec", "Deps", "FamilySpec", "Ref", "load", "topics_of"]

Ref = str  # "package.module:attribute"
T = TypeVar("T")
# batched: aiokafka batches (high volume); faust: generator agents and sagas;
# projector: the platform's read-model folder (it runs the read models, not a handler).
Runner = Literal["batched", "faust", "projector"]


def load(ref: Ref) -> Any:
    """The object a ``"module:attribute"`` reference names."""
    module, _, attr = ref.partition(":")
    if not attr:
        raise ValueError(f"reference {ref!r} must look like 'package.module:attribute'")
    return getattr(importlib.import_module(module), attr)


class Deps:
    """What an agent's builder receives: the settings, and resources opened on first use.

    Every resource opened here is closed by ``aclose`` when the agent stops.
    ``overrides`` replace resources by name (tests pass a fake gateway, a fake
    store); an override is never closed here: whoever made it owns it.
    """

    def __init__(self, settings: Settings, overrides: Mapping[str, Any] | None = None) -> None:
        self.settings = settings
        self.overrides = dict(overrides or {})
        self._opened: dict[str, Any] = {}
        self._stack = AsyncExitStack()

    def resource(
        self,
        name: str,
        open_: Callable[[Deps], T],
        close: Callable[[T], Awaitable[Any]] | None = None,
    ) -> T:
        """The resource ``name``: an override, else opened once by ``open_``."""
        if name in self.overrides:
            return self.overrides[name]  # type: ignore[no-any-return]
        if name not in self._opened:
            value = open_(self)
            self._opened[name] = value
            if close is not None:
                self._stack.push_async_callback(close, value)
        return self._opened[name]  # type: ignore[no-any-return]

    def gateway(self) -> Gateway:
        from services.generation import build_gateway

        def close(gateway: Gateway) -> Awaitable[None]:
            return gateway.aclose()

        return self.resource("gateway", lambda d: build_gateway(d.settings.generation), close)

    def read_engine(self) -> AsyncEngine:
        """A read-only engine: agents read read models, never write them."""
        from projections.db import make_engine

        def close(engine: AsyncEngine) -> Awaitable[None]:
            return engine.dispose()

        return self.resource(
            "read_engine", lambda d: make_engine(d.settings, read_only=True), close
        )

    def engine(self) -> AsyncEngine:
        """A writing engine (projectors, and tools that create tables)."""
        from projections.db import make_engine

        def close(engine: AsyncEngine) -> Awaitable[None]:
            return engine.dispose()

        return self.resource("engine", lambda d: make_engine(d.settings), close)

    async def aclose(self) -> None:
        await self._stack.aclose()
        self._opened.clear()

    async def __aenter__(self) -> Deps:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


@dataclass(frozen=True)
class AgentSpec:
    """One runnable agent.

    ``consumes`` and ``produces`` are the event classes it takes and emits;
    its topics follow from the contexts of what it consumes. ``build`` makes
    its handler (or saga) from its dependencies. ``runner``: ``batched`` for
    high-volume consumers (aiokafka, batches), ``faust`` for generator agents
    and sagas, whose pace is set by model calls.
    """

    name: str
    description: str
    consumes: tuple[type[Payload], ...]
    produces: tuple[type[Payload], ...]
    runner: Runner
    build: Callable[[Deps], Any]
    saga: bool = False
    replicas: int = 1  # processes in the compose deployment (at most the partitions)
    # Who waits on what it produces: its idle fetch's wait (Settings.fetch_wait_ms),
    # which on the embedded broker is each hop's latency floor.
    latency: Latency = Latency.BULK

    @property
    def consumed_types(self) -> frozenset[str]:
        types = {c.event_type for c in self.consumes}
        return frozenset(types | {SagaDeadlineReached.event_type} if self.saga else types)

    @property
    def produced_types(self) -> frozenset[str]:
        types = {p.event_type for p in self.produces}
        return frozenset(types | {SagaDeadlineReached.event_type} if self.saga else types)

    def topics(self, settings: Settings) -> list[str]:
        """The topics of what it consumes (a saga's deadlines come on those too)."""
        return topics_of(self.consumes, settings.topics())


def topics_of(types: Iterable[type[Payload]], names: TopicNames) -> list[str]:
    contexts = {CATALOG.spec(t.event_type).context for t in types}
    return sorted(names.domain(c) for c in contexts if c is not None)


@dataclass(frozen=True)
class FamilySpec:
    """A family: what it runs, what it folds, what it serves, what it answers to."""

    name: str
    summary: str
    agents: tuple[AgentSpec, ...] = ()
    read_models: tuple[Ref, ...] = ()  # Projection classes
    router: Ref | None = None  # a FastAPI APIRouter
    cli: Mapping[str, Ref] = field(default_factory=dict)  # command group -> typer.Typer
    strategies: tuple[Ref, ...] = ()  # generation families (services.generation.Family)
    # Events that come from outside (apps, the API, the CLI) rather than an agent.
    inputs: tuple[type[Payload], ...] = ()
    # Shapes its events share that get a JSON Schema of their own in docs/, by title.
    models: Mapping[str, Ref] = field(default_factory=dict)
