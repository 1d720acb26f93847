"""The handler contract and the guard around every handler.

A handler reacts to one decoded event and returns the events to publish. The
guard decodes the message, skips types the handler does not take, retries
retryable errors with backoff, and turns undecodable or invalid messages and
permanent failures into dead letters. It never lets an exception escape for a
single bad message, and never drops one silently.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import structlog

from events import CATALOG, Catalog, Envelope, EventError, TopicNames, decode, header
from services.bus.consumer import Delivery
from services.runtime.dead_letters import DeadLetter, dead_letter_for
from services.runtime.errors import is_retryable
from services.runtime.metrics import DEAD_LETTERS
from services.settings import Settings

__all__ = [
    "Announce",
    "EventHandler",
    "Guard",
    "Outcome",
    "RetryPolicy",
    "StatefulHandler",
    "current_attempt",
]

log = structlog.get_logger(__name__)


@runtime_checkable
class EventHandler(Protocol):
    """Reacts to one event; returns the events it causes (published by the runner).

    ``delivery`` says where the event sits in the log (sagas guard on offsets).
    A handler whose work takes long may also define ``started(event)``: the
    events that say it has begun (a batch now GENERATING), which the runner
    publishes before calling ``handle``. A handler for which a failure is a
    domain outcome (a drill batch that could not be made is reported, so the
    series completes partially) defines ``failed(event, reason, attempts)``:
    when the guard gives up, those events are published instead of a dead
    letter. ``max_attempts`` overrides the retry policy's. Every event a
    handler emits is one it returns; none publishes on its own.
    """

    name: str
    event_types: frozenset[str] | None  # None: every type

    async def handle(self, event: Envelope, delivery: Delivery) -> Sequence[Envelope]: ...


Announce = Callable[[Sequence[Envelope]], Awaitable[None]]

# Which attempt at the current event a handler is in (1 = the first): for
# handlers that report their retries (a drill batch's retry_count).
_ATTEMPT: ContextVar[int] = ContextVar("nls_attempt", default=1)


def current_attempt() -> int:
    return _ATTEMPT.get()


@runtime_checkable
class StatefulHandler(EventHandler, Protocol):
    """A handler whose decisions depend on earlier events of its partitions.

    On partition assignment the runner calls ``reset`` and then ``replay`` for
    every event already processed (offsets below the committed one), so the
    state is the same after a restart as it was before the kill.
    """

    def reset(self) -> None: ...

    def replay(self, event: Envelope) -> None: ...


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int | None = 5  # None: retry forever (projectors: never skip an event)
    base_delay_s: float = 0.1
    max_delay_s: float = 5.0

    @classmethod
    def from_settings(cls, settings: Settings, handler: object = None) -> RetryPolicy:
        """The settings' policy; a handler may ask for its own ``max_attempts``."""
        attempts = getattr(handler, "max_attempts", None) or settings.retry_max_attempts
        return cls(attempts, settings.retry_base_delay_s, settings.retry_max_delay_s)

    def delay(self, attempt: int) -> float:
        """Exponential backoff with jitter, ``attempt`` counting from 1."""
        base = min(self.max_delay_s, self.base_delay_s * 2 ** (attempt - 1))
        return float(base * random.uniform(0.5, 1.0))

    def exhausted(self, attempt: int) -> bool:
        return self.max_attempts is not None and attempt >= self.max_attempts


@dataclass
class Outcome:
    outputs: list[Envelope] = field(default_factory=list)
    dead: DeadLetter | None = None
    skipped: bool = False


class Guard:
    """Wraps a handler with decoding, retries and dead-lettering."""

    def __init__(
        self,
        handler: EventHandler,
        *,
        topics: TopicNames,
        policy: RetryPolicy,
        catalog: Catalog = CATALOG,
    ) -> None:
        self.handler = handler
        self.topics = topics
        self.policy = policy
        self.catalog = catalog

    def dead(self, delivery: Delivery, kind: str, reason: str) -> DeadLetter:
        DEAD_LETTERS.labels(self.handler.name, kind).inc()
        log.warning(
            "event.dead_lettered",
            agent=self.handler.name,
            kind=kind,
            reason=reason,
            topic=delivery.topic,
            partition=delivery.partition,
            offset=delivery.offset,
        )
        return dead_letter_for(
            delivery, topics=self.topics, agent=self.handler.name, kind=kind, reason=reason
        )

    def decode(self, delivery: Delivery) -> Envelope | DeadLetter:
        try:
            return decode(delivery.value, self.catalog, delivery.headers)
        except EventError as exc:
            return self.dead(delivery, exc.kind, exc.reason)

    def wants(self, event: Envelope) -> bool:
        types = self.handler.event_types
        return types is None or event.event_type in types

    async def run(self, delivery: Delivery, announce: Announce | None = None) -> Outcome:
        # The header names the type: skip what this handler does not take without decoding.
        etype = header(delivery.headers, "event_type")
        types = self.handler.event_types
        if types is not None and etype not in types and etype in self.catalog:
            return Outcome(skipped=True)
        decoded = self.decode(delivery)
        if isinstance(decoded, DeadLetter):
            return Outcome(dead=decoded)
        if not self.wants(decoded):
            return Outcome(skipped=True)
        started = getattr(self.handler, "started", None)
        if started is not None and announce is not None:
            await announce(started(decoded))
        return await self.handle(delivery, decoded)

    def give_up(
        self, delivery: Delivery, event: Envelope, kind: str, reason: str, attempts: int
    ) -> Outcome:
        """A dead letter, or the handler's own report of the failure where it has one."""
        failed = getattr(self.handler, "failed", None)
        if failed is None:
            return Outcome(dead=self.dead(delivery, kind, reason))
        log.warning(
            "event.failed_reported",
            agent=self.handler.name,
            kind=kind,
            reason=reason,
            attempts=attempts,
            event_id=str(event.event_id),
        )
        return Outcome(outputs=list(failed(event, reason, attempts)))

    async def handle(self, delivery: Delivery, event: Envelope) -> Outcome:
        attempt = 0
        while True:
            attempt += 1
            token = _ATTEMPT.set(attempt)
            try:
                return Outcome(outputs=list(await self.handler.handle(event, delivery)))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                reason = f"{type(exc).__name__}: {exc}"
                if not is_retryable(exc):
                    return self.give_up(delivery, event, "handler_failed", reason, attempt)
                if self.policy.exhausted(attempt):
                    why = f"after {attempt} attempts: {reason}"
                    return self.give_up(delivery, event, "retries_exhausted", why, attempt)
                delay = self.policy.delay(attempt)
                log.info(
                    "event.retry",
                    agent=self.handler.name,
                    attempt=attempt,
                    delay_s=round(delay, 3),
                    reason=reason,
                )
                await asyncio.sleep(delay)
            finally:
                _ATTEMPT.reset(token)
