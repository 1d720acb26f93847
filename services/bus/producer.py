"""Publishing envelopes to their context topic."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

from aiokafka import AIOKafkaProducer

from events import Context, Envelope, TopicNames, encode
from services.settings import Settings

__all__ = ["EventPublisher", "Publisher"]


class Publisher(Protocol):
    """What agents need to publish. ``InMemoryPublisher`` in tests is the fake."""

    async def publish(self, events: Sequence[Envelope], *, context: Context | None = None) -> None:
        """Publish and wait until the broker has acknowledged every event.

        Each event goes to its payload's context topic; ``context`` is the topic
        for infrastructure events that have none (saga deadlines).
        """

    async def send_raw(
        self, topic: str, key: bytes | None, value: bytes | None, headers: list[tuple[str, bytes]]
    ) -> None:
        """Publish bytes as they are (dead letters)."""


class EventPublisher:
    """aiokafka producer that routes each envelope to its context's topic."""

    def __init__(self, settings: Settings, *, client_id: str = "nls") -> None:
        self._settings = settings
        self._topics: TopicNames = settings.topics()
        self._producer = AIOKafkaProducer(
            bootstrap_servers=settings.bootstrap(),
            client_id=client_id,
            acks="all",
            linger_ms=settings.producer_linger_ms,
            enable_idempotence=settings.idempotent_producer,
            max_batch_size=1024 * 1024,
            max_request_size=4 * 1024 * 1024,
        )

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def __aenter__(self) -> EventPublisher:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def topic_for(self, envelope: Envelope, context: Context | None = None) -> str:
        ctx = envelope.payload.event_context or context
        if ctx is None:
            raise ValueError(f"{envelope.event_type} needs an explicit context to publish on")
        return self._topics.domain(ctx)

    async def publish(self, events: Sequence[Envelope], *, context: Context | None = None) -> None:
        futures = []
        for env in events:
            enc = encode(env)
            fut = await self._producer.send(
                self.topic_for(env, context), key=enc.key, value=enc.value, headers=enc.headers
            )
            futures.append(fut)
        if futures:
            await asyncio.gather(*futures)

    async def send_raw(
        self, topic: str, key: bytes | None, value: bytes | None, headers: list[tuple[str, bytes]]
    ) -> None:
        fut = await self._producer.send(topic, key=key, value=value, headers=headers)
        await fut
