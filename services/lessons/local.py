"""The lesson pipeline in one process: the saga and the three agents over an in-memory log.

The same handlers the broker runs, with the broker's delivery rules kept: the
log is append-only and deduplicated by event id; the saga takes the lesson's
events one by one in log order; every other agent takes each event of its
types at least once, several at a time, and acknowledges it only after its
outputs are in the log. ``kill`` cancels whatever is in flight without
acknowledging it; a new ``LocalPipeline`` over the same ``LocalLog`` resumes
from the acknowledgements, as a restarted worker resumes from its committed
offsets. Used by the tests, the benchmark and ``nls lessons generate --local``.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from events import Context, Envelope, Payload
from events.errors import NlsError
from events.lessons import (
    LessonCompleted,
    LessonFailed,
    LessonImproveRequested,
    LessonPhase,
    LessonPhaseCompleted,
    LessonRefined,
    LessonRequested,
)
from services.bus.consumer import Delivery
from services.generation import Gateway
from services.lessons.agents import LessonRewriter, LessonScorer, PhaseWorker
from services.lessons.saga import LessonPipelineSaga, LessonState
from services.lessons.settings import LessonSettings
from services.runtime.handler import EventHandler
from services.runtime.saga import InMemorySagaStore, SagaHandler

__all__ = ["LocalLog", "LocalPipeline", "PipelineStalled"]

SAGA = "saga.lesson-pipeline"
P = TypeVar("P", bound=Payload)


class PipelineStalled(NlsError, RuntimeError):
    """Nothing is in flight and the awaited outcome has not happened."""


@dataclass
class LocalLog:
    """The lesson topic, the consumers' acknowledgements and the saga's table."""

    events: list[Envelope] = field(default_factory=list)
    ids: set[uuid.UUID] = field(default_factory=set)
    acked: dict[str, set[uuid.UUID]] = field(default_factory=dict)
    saga_store: InMemorySagaStore = field(default_factory=lambda: InMemorySagaStore(LessonState))

    def payloads(self, kind: type[P], lesson_id: str | None = None) -> list[P]:
        """The payloads of one type, in log order (of one lesson, if given)."""
        return [e.payload_as(kind) for e in self.of(kind, lesson_id)]

    def of(self, kind: type, lesson_id: str | None = None) -> list[Envelope]:
        return [
            e
            for e in self.events
            if isinstance(e.payload, kind) and (lesson_id is None or e.key == lesson_id)
        ]


class LocalPipeline:
    def __init__(
        self,
        gateway: Gateway,
        *,
        settings: LessonSettings | None = None,
        log: LocalLog | None = None,
        concurrency: int = 8,
    ) -> None:
        self.log = log or LocalLog()
        self.saga = SagaHandler(LessonPipelineSaga(settings), self.log.saga_store, self)
        self.agents: list[EventHandler] = [
            PhaseWorker(gateway, concurrency=concurrency, completed=self._completed),
            LessonScorer(gateway, concurrency=concurrency),
            LessonRewriter(gateway, concurrency=concurrency),
        ]
        self._slots = {a.name: asyncio.Semaphore(getattr(a, "concurrency", 1)) for a in self.agents}
        self._inflight: dict[asyncio.Task[None], tuple[str, uuid.UUID]] = {}
        self._errors: list[BaseException] = []
        self._changed = asyncio.Event()

    # the publisher the saga and the agents write through --------------------------------
    async def publish(self, events: Sequence[Envelope], *, context: Context | None = None) -> None:
        for e in events:
            if e.event_id not in self.log.ids:
                self.log.ids.add(e.event_id)
                self.log.events.append(e)
        self._changed.set()

    async def send_raw(
        self, topic: str, key: bytes | None, value: bytes | None, headers: list[tuple[str, bytes]]
    ) -> None:
        raise RuntimeError(f"the local pipeline has no dead-letter topic (asked for {topic})")

    async def _completed(self, lesson_id: str, phase: LessonPhase) -> bool:
        return any(
            e.payload.phase is phase  # type: ignore[attr-defined]
            for e in self.log.of(LessonPhaseCompleted, lesson_id)
        )

    # delivery ---------------------------------------------------------------------------
    def _acked(self, name: str) -> set[uuid.UUID]:
        return self.log.acked.setdefault(name, set())

    def _delivery(self, offset: int, event: Envelope) -> Delivery:
        return Delivery("local.lessons", 0, offset, event.key.encode(), None, (), event)

    async def _feed_saga(self) -> None:
        acked = self._acked(SAGA)
        types = self.saga.event_types or frozenset()
        offset = 0
        while offset < len(self.log.events):
            event = self.log.events[offset]
            if event.event_id not in acked:
                if event.event_type in types:
                    await self.saga.handle(event, self._delivery(offset, event))
                acked.add(event.event_id)
            offset += 1

    def _dispatch(self) -> None:
        busy = {(name, eid) for name, eid in self._inflight.values()}
        for offset, event in enumerate(self.log.events):
            for agent in self.agents:
                wanted = agent.event_types is None or event.event_type in agent.event_types
                key = (agent.name, event.event_id)
                if wanted and event.event_id not in self._acked(agent.name) and key not in busy:
                    task = asyncio.create_task(self._run(agent, offset, event))
                    self._inflight[task] = key
                    task.add_done_callback(self._done)

    async def _run(self, agent: EventHandler, offset: int, event: Envelope) -> None:
        async with self._slots[agent.name]:
            outputs = await agent.handle(event, self._delivery(offset, event))
        await self.publish(outputs)
        self._acked(agent.name).add(event.event_id)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._inflight.pop(task, None)
        if not task.cancelled() and task.exception() is not None:
            self._errors.append(task.exception())  # type: ignore[arg-type]
        self._changed.set()

    async def drive(self, until: Callable[[LocalLog], bool], *, timeout: float = 120.0) -> None:
        """Deliver events until ``until(log)`` holds; raise ``PipelineStalled`` when idle."""
        if not self._inflight:  # asyncio primitives belong to one loop: fresh ones per run
            self._changed = asyncio.Event()
            self._slots = {
                a.name: asyncio.Semaphore(getattr(a, "concurrency", 1)) for a in self.agents
            }
        async with asyncio.timeout(timeout):
            while True:
                self._changed.clear()
                await self._feed_saga()
                if until(self.log):
                    return
                self._dispatch()
                if self._errors:
                    raise self._errors[0]
                if not self._inflight:
                    raise PipelineStalled("nothing in flight and the outcome has not happened")
                await self._changed.wait()

    async def kill(self) -> None:
        """Stop like ``kill -9``: in-flight work is dropped without acknowledgement."""
        tasks = list(self._inflight)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._inflight.clear()

    # whole flows ------------------------------------------------------------------------
    async def generate(self, request: LessonRequested, *, timeout: float = 120.0) -> Envelope:
        """Publish the request and run until the lesson is completed (or failed)."""
        await self.publish([Envelope.new(request, source="local")])
        return await self.finish(request.lesson_id, timeout=timeout)

    async def finish(self, lesson_id: str, *, timeout: float = 120.0) -> Envelope:
        def ended(log: LocalLog) -> bool:
            return bool(log.of(LessonCompleted, lesson_id) or log.of(LessonFailed, lesson_id))

        await self.drive(ended, timeout=timeout)
        return (self.log.of(LessonCompleted, lesson_id) or self.log.of(LessonFailed, lesson_id))[0]

    async def improve(
        self, lesson_id: str, *, strategy: str | None = None, timeout: float = 120.0
    ) -> LessonRefined:
        request = LessonImproveRequested(
            lesson_id=lesson_id,
            request_id=uuid.uuid4(),
            strategy=strategy,  # type: ignore[arg-type]
        )
        await self.publish([Envelope.new(request, source="local")])

        def verdict(log: LocalLog) -> bool:
            return any(
                e.payload.refinement_id == request.request_id  # type: ignore[attr-defined]
                for e in log.of(LessonRefined, lesson_id)
            )

        await self.drive(verdict, timeout=timeout)
        found = [
            e.payload_as(LessonRefined)
            for e in self.log.of(LessonRefined, lesson_id)
            if e.payload_as(LessonRefined).refinement_id == request.request_id
        ]
        return found[0]
