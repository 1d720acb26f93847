"""The whole course flow in one process, without a broker: for benchmarks and tests.

The agents are the family's, built by the builders ``family.py`` declares (with
the gateway and the fact bank given as overrides), so this module wires nothing
of its own: it only passes events between them. Events go round in waves, as
they would through the topics: every handler that takes an event gets it; the
handlers take a wave's events concurrently (K candidates in parallel), the
fan-in saga folds them in log order. When the flow runs dry before the course
finished (a lost candidate), the saga's deadline fires, as its timer would.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from events import CATALOG, Context, Envelope, utcnow
from events.courses import CourseFailed, CourseNeedsAttention, CourseSelected
from services.bus.consumer import Delivery
from services.bus.memory import InMemoryPublisher
from services.courses.facts import FactBank
from services.courses.family import FAMILY
from services.courses.settings import CourseSettings
from services.generation import Gateway
from services.runtime.family import Deps
from services.runtime.handler import EventHandler
from services.runtime.saga import InMemorySagaStore, Saga, SagaHandler
from services.settings import Settings

__all__ = ["FINISHED", "CourseRun", "InProcessCourses"]

FINISHED = frozenset(
    {CourseSelected.event_type, CourseNeedsAttention.event_type, CourseFailed.event_type}
)


@dataclass
class CourseRun:
    """Every event of one course, in the order the log would hold them."""

    events: list[Envelope] = field(default_factory=list)

    def of_type(self, event_type: str) -> list[Envelope]:
        return [e for e in self.events if e.event_type == event_type]

    @property
    def outcome(self) -> Envelope:
        done = [e for e in self.events if e.event_type in FINISHED]
        if len(done) != 1:
            raise AssertionError(f"expected one finishing event, found {len(done)}")
        return done[0]


class InProcessCourses:
    """The family's orchestrator, generator, reviewer and fan-in saga wired to each other
    in memory.

    ``drop`` loses the events it returns True for (a worker killed for good), so the
    deadline path can be exercised.
    """

    def __init__(
        self,
        gateway: Gateway,
        settings: CourseSettings,
        facts: FactBank,
        *,
        drop: Callable[[Envelope], bool] | None = None,
    ) -> None:
        self.settings = settings
        platform = Settings().with_section(CourseSettings, **settings.model_dump())
        deps = Deps(platform, {"gateway": gateway, "course_facts": facts})
        self.workers: list[EventHandler] = []
        self.saga_out = InMemoryPublisher()
        sagas: list[SagaHandler] = []
        for spec in FAMILY.agents:
            built = spec.build(deps)
            if isinstance(built, Saga):
                sagas.append(SagaHandler(built, InMemorySagaStore(built.state_type), self.saga_out))
            else:
                self.workers.append(built)
        (self.saga,) = sagas
        self.drop = drop or (lambda _: False)
        self.offset = 0
        self.slots = asyncio.Semaphore(settings.course_concurrency)

    def _delivery(self, event: Envelope) -> Delivery:
        self.offset += 1
        return Delivery(f"inprocess.{Context.COURSES.value}", 0, self.offset, None, b"", ())

    async def _work(self, handler: EventHandler, event: Envelope) -> Sequence[Envelope]:
        async with self.slots:
            return await handler.handle(event, self._delivery(event))

    async def run(self, request: Envelope) -> CourseRun:
        run = CourseRun()
        wave = [request]
        while wave:
            run.events += wave
            for event in wave:
                CATALOG.validate(event.model_dump(mode="json"))  # what a broker would refuse
            outputs: list[Envelope] = []
            for event in wave:
                before = len(self.saga_out.events)
                if self.saga.event_types is None or event.event_type in self.saga.event_types:
                    await self.saga.handle(event, self._delivery(event))
                outputs += [e for _, e in self.saga_out.events[before:]]
            jobs = [
                self._work(h, e)
                for e in wave
                if not self.drop(e)
                for h in self.workers
                if h.event_types is None or e.event_type in h.event_types
            ]
            for produced in await asyncio.gather(*jobs):
                outputs += produced
            wave = outputs
            if not wave and not any(e.event_type in FINISHED for e in run.events):
                wave = self.saga.due_deadlines(utcnow() + timedelta(days=1))
        return run
