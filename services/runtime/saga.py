"""The saga primitive: long-running workflows keyed by instance, with deadlines.

A saga is pure: ``decide(state, event)`` says what to publish and
``evolve(state, event)`` folds the event into the state. ``SagaHandler`` runs
it behind the usual handler contract:

- state lives in a ``SagaStore`` keyed by instance id (a faust table backed
  by a changelog topic in production, so it is rebuilt after ``kill -9``);
- each stored state remembers the offset of the last event folded into it;
  a redelivered event at or below that offset is ignored, so nothing is
  applied twice;
- outputs are published and acknowledged *before* the state is stored: a
  crash in between replays the event and re-publishes the same
  deterministic ids, which consumers drop;
- deadlines are part of the state; ``due_deadlines`` lists those that have
  passed and the runner publishes a ``saga-deadline-reached`` event for each
  on the saga's own topic and key, so the timeout is ordered with the events
  the saga waits for. A deadline event that is no longer pending is ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Generic, Protocol, TypeVar

import orjson
import structlog
from pydantic import AwareDatetime, BaseModel, ConfigDict

from events import Context, Envelope, derive_id, utcnow
from events.sagas import SagaDeadlineReached
from services.bus.consumer import Delivery
from services.bus.producer import Publisher

__all__ = [
    "DeadlineTicker",
    "InMemorySagaStore",
    "Saga",
    "SagaHandler",
    "SagaState",
    "SagaStore",
    "Stored",
    "deadline_event",
    "tick_deadlines",
]

log = structlog.get_logger(__name__)


class SagaState(BaseModel):
    """Base of every saga's state."""

    model_config = ConfigDict(extra="forbid")

    instance_id: str
    correlation_id: uuid.UUID
    deadlines: dict[str, AwareDatetime] = {}  # pending deadlines by name
    finished: bool = False


S = TypeVar("S", bound=SagaState)


class Saga(ABC, Generic[S]):
    """A workflow: pure ``decide`` and ``evolve`` over its events."""

    name: ClassVar[str]
    context: ClassVar[Context]  # its topic: inputs, deadlines (and usually outputs)
    state_type: ClassVar[type[SagaState]]
    event_types: ClassVar[frozenset[str]]

    def instance_of(self, event: Envelope) -> str:
        return event.key

    @abstractmethod
    def decide(self, state: S | None, event: Envelope) -> Sequence[Envelope]:
        """Events to publish in reaction to ``event`` given the state before it."""

    @abstractmethod
    def evolve(self, state: S | None, event: Envelope) -> S | None:
        """The state after ``event``; None while the event does not start an instance."""


def deadline_event(saga: Saga[Any], state: SagaState, name: str, due_at: datetime) -> Envelope:
    """The deadline event, with an id fixed by saga, instance, deadline and due time."""
    seed = uuid.uuid5(uuid.NAMESPACE_URL, f"saga:{saga.name}:{state.instance_id}")
    payload = SagaDeadlineReached(
        saga=saga.name, instance_id=state.instance_id, deadline=name, due_at=due_at
    )
    return Envelope(
        event_id=derive_id(seed, f"deadline:{name}:{due_at.isoformat()}"),
        event_type=payload.event_type,
        event_version=payload.event_version,
        occurred_at=due_at,
        key=state.instance_id,
        correlation_id=state.correlation_id,
        causation_id=None,
        source=f"saga.{saga.name}",
        payload=payload,
    )


@dataclass(frozen=True)
class Stored:
    state: SagaState | None
    offset: int  # the last offset folded into ``state``


class SagaStore(Protocol):
    def get(self, instance_id: str) -> Stored | None: ...

    def put(self, instance_id: str, stored: Stored) -> None: ...

    def items(self) -> Iterator[tuple[str, Stored]]: ...


def encode_stored(stored: Stored) -> dict[str, Any]:
    """``Stored`` as a JSON-ready dict (the faust table serialises it as JSON)."""
    state = stored.state.model_dump(mode="json") if stored.state else None
    return {"offset": stored.offset, "state": state}


def decode_stored(data: dict[str, Any], state_type: type[SagaState]) -> Stored:
    state = state_type.model_validate(data["state"]) if data["state"] is not None else None
    return Stored(state, int(data["offset"]))


class InMemorySagaStore:
    """The fake beside the faust table; it round-trips through the same encoding."""

    def __init__(self, state_type: type[SagaState]) -> None:
        self.state_type = state_type
        self.data: dict[str, bytes] = {}  # JSON bytes, as in the changelog

    def get(self, instance_id: str) -> Stored | None:
        raw = self.data.get(instance_id)
        return decode_stored(orjson.loads(raw), self.state_type) if raw is not None else None

    def put(self, instance_id: str, stored: Stored) -> None:
        self.data[instance_id] = orjson.dumps(encode_stored(stored))

    def items(self) -> Iterator[tuple[str, Stored]]:
        for key, raw in list(self.data.items()):
            yield key, decode_stored(orjson.loads(raw), self.state_type)


class SagaHandler:
    """Runs a saga behind the handler contract (see the module docstring)."""

    def __init__(self, saga: Saga[Any], store: SagaStore, publisher: Publisher) -> None:
        self.saga = saga
        self.store = store
        self.publisher = publisher
        self.name = f"saga.{saga.name}"
        self.event_types: frozenset[str] | None = saga.event_types | {
            SagaDeadlineReached.event_type
        }

    def _pending(self, state: SagaState | None, event: Envelope) -> bool:
        """Whether a deadline event is for this saga and still pending."""
        d = event.payload_as(SagaDeadlineReached)
        if d.saga != self.saga.name or state is None or state.finished:
            return False
        return state.deadlines.get(d.deadline) == d.due_at

    async def handle(self, event: Envelope, delivery: Delivery) -> Sequence[Envelope]:
        instance = self.saga.instance_of(event)
        stored = self.store.get(instance)
        if stored is not None and delivery.offset <= stored.offset:
            return ()  # already folded in before a restart
        state = stored.state if stored else None
        is_deadline = event.event_type == SagaDeadlineReached.event_type
        if is_deadline and not self._pending(state, event):
            self.store.put(instance, Stored(state, delivery.offset))
            return ()
        outputs = list(self.saga.decide(state, event))
        new_state = self.saga.evolve(state, event)
        if is_deadline and new_state is not None:
            d = event.payload_as(SagaDeadlineReached)
            if new_state.deadlines.get(d.deadline) == d.due_at:
                new_state.deadlines.pop(d.deadline)
        if outputs:
            await self.publisher.publish(outputs, context=self.saga.context)
        self.store.put(instance, Stored(new_state, delivery.offset))
        log.debug(
            "saga.applied",
            saga=self.saga.name,
            instance=instance,
            event_type=event.event_type,
            offset=delivery.offset,
            outputs=len(outputs),
        )
        return ()

    def due_deadlines(self, now: datetime) -> list[Envelope]:
        """Deadline events for every pending deadline that has passed."""
        due: list[Envelope] = []
        for _, stored in self.store.items():
            state = stored.state
            if state is None or state.finished:
                continue
            for name, at in state.deadlines.items():
                if at <= now:
                    due.append(deadline_event(self.saga, state, name, at))
        return due


class DeadlineTicker:
    """Publishes each due deadline once per tick loop.

    ``sent`` avoids re-publishing a deadline every tick until the saga has
    consumed it; after a restart it may go out once more, and the saga ignores
    a deadline that is no longer pending.
    """

    def __init__(self, handler: SagaHandler, publisher: Publisher) -> None:
        self.handler = handler
        self.publisher = publisher
        self.sent: set[uuid.UUID] = set()

    async def tick(self, now: datetime) -> None:
        due = self.handler.due_deadlines(now)
        fresh = [e for e in due if e.event_id not in self.sent]
        if fresh:
            log.info("saga.deadlines_due", saga=self.handler.saga.name, count=len(fresh))
            await self.publisher.publish(fresh, context=self.handler.saga.context)
        self.sent.intersection_update(e.event_id for e in due)
        self.sent.update(e.event_id for e in fresh)


async def tick_deadlines(
    handler: SagaHandler, publisher: Publisher, every_s: float, stop: asyncio.Event
) -> None:
    """Tick ``handler``'s deadlines every ``every_s`` until ``stop`` (outside faust)."""
    ticker = DeadlineTicker(handler, publisher)
    while not stop.is_set():
        await ticker.tick(utcnow())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every_s)
