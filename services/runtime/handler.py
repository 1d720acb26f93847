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
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import structlog

from events import CATALOG, Catalog, Envelope, EventError, TopicNames, decode, header
from services.bus.consumer import Delivery
from services.runtime.dead_letters import DeadLetter, dead_letter_for
from services.runtime.errors import is_retryable
from services.runtime.metrics import DEAD_LETTERS
from services.settings import Settings

__all__ = ["EventHandler", "Guard", "Outcome", "RetryPolicy", "StatefulHandler"]

log = structlog.get_logger(__name__)


@runtime_checkable
class EventHandler(Protocol):
    """Reacts to one event; returns the events it causes (published by the runner).

    ``delivery`` says where the event sits in the log (sagas guard on offsets).
    """

    name: str
    event_types: frozenset[str] | None  # None: every type

    async def handle(self, event: Envelope, delivery: Delivery) -> Sequence[Envelope]: ...


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
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(
            settings.retry_max_attempts, settings.retry_base_delay_s, settings.retry_max_delay_s
        )

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

    async def run(self, delivery: Delivery) -> Outcome:
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
        return await self.handle(delivery, decoded)

    async def handle(self, delivery: Delivery, event: Envelope) -> Outcome:
        attempt = 0
        while True:
            attempt += 1
            try:
                return Outcome(outputs=list(await self.handler.handle(event, delivery)))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                reason = f"{type(exc).__name__}: {exc}"
                if not is_retryable(exc):
                    return Outcome(dead=self.dead(delivery, "handler_failed", reason))
                if self.policy.exhausted(attempt):
                    return Outcome(
                        dead=self.dead(
                            delivery, "retries_exhausted", f"after {attempt} attempts: {reason}"
                        )
                    )
                delay = self.policy.delay(attempt)
                log.info(
                    "event.retry",
                    agent=self.handler.name,
                    attempt=attempt,
                    delay_s=round(delay, 3),
                    reason=reason,
                )
                await asyncio.sleep(delay)
