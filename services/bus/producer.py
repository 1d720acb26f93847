"""Publishing envelopes to their context topic."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from typing import Any, Protocol

from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner

from events import Context, EncodedEvent, Envelope, TopicNames, encode
from services.bus.security import client_security
from services.settings import Settings

__all__ = ["EventPublisher", "Publisher", "causal_waves", "producer_config"]


def producer_config(settings: Settings, client_id: str = "nls") -> dict[str, Any]:
    """The producer's settings: every write acknowledged by all in-sync replicas."""
    return {
        "bootstrap_servers": settings.bootstrap(),
        "client_id": client_id,
        "acks": "all",
        "linger_ms": settings.producer_linger_ms,
        "enable_idempotence": settings.idempotent_producer,
        "max_batch_size": 1024 * 1024,
        "max_request_size": 4 * 1024 * 1024,
        **client_security(settings),
    }


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


def causal_waves(events: Sequence[Envelope], partitions: Sequence[tuple[str, int]]) -> list[int]:
    """Each event's send wave: one after its cause's when the cause is earlier in
    ``events`` on another partition (one partition keeps its order by itself)."""
    placed: dict[uuid.UUID, tuple[int, tuple[str, int]]] = {}
    waves = []
    for env, where in zip(events, partitions, strict=True):
        cause = placed.get(env.causation_id) if env.causation_id else None
        wave = 0
        if cause is not None:
            wave = cause[0] + (cause[1] != where)
        placed[env.event_id] = (wave, where)
        waves.append(wave)
    return waves


class EventPublisher:
    """aiokafka producer that routes each envelope to its context's topic."""

    def __init__(self, settings: Settings, *, client_id: str = "nls") -> None:
        self._settings = settings
        self._topics: TopicNames = settings.topics()
        self._producer = AIOKafkaProducer(**producer_config(settings, client_id))
        self._partitioner = DefaultPartitioner()
        self._partitions: dict[str, list[int]] = {}

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

    async def _partition(self, topic: str, key: bytes) -> int:
        parts = self._partitions.get(topic)
        if parts is None:
            parts = self._partitions[topic] = sorted(await self._producer.partitions_for(topic))
        # The Java client's murmur2 partitioner: the same key lands where any Kafka client puts it.
        return int(self._partitioner(key, parts, parts))

    async def publish(self, events: Sequence[Envelope], *, context: Context | None = None) -> None:
        """Publish and wait until the broker has acknowledged every event.

        Events are grouped into one record batch per partition (in order), which
        costs far less per event than one ``send`` each. An event caused by another
        of the same call on another partition is sent once its cause is
        acknowledged: no effect is in the log without its cause (a plan without the
        atoms it lists), whatever fails in between.
        """
        placed: list[tuple[EncodedEvent, tuple[str, int]]] = []
        for env in events:
            enc = encode(env)
            topic = self.topic_for(env, context)
            placed.append((enc, (topic, await self._partition(topic, enc.key))))
        waves = causal_waves(events, [where for _, where in placed])
        for wave in range(max(waves, default=-1) + 1):
            groups: dict[tuple[str, int], list[EncodedEvent]] = {}
            for (enc, where), w in zip(placed, waves, strict=True):
                if w == wave:
                    groups.setdefault(where, []).append(enc)
            await self._send_groups(groups)

    async def _send_groups(self, groups: dict[tuple[str, int], list[EncodedEvent]]) -> None:
        futures = []
        for (topic, partition), encoded in groups.items():
            batch = self._producer.create_batch()
            for enc in encoded:
                if (
                    batch.append(key=enc.key, value=enc.value, timestamp=None, headers=enc.headers)
                    is None
                ):
                    futures.append(
                        await self._producer.send_batch(batch, topic, partition=partition)
                    )
                    batch = self._producer.create_batch()
                    batch.append(key=enc.key, value=enc.value, timestamp=None, headers=enc.headers)
            futures.append(await self._producer.send_batch(batch, topic, partition=partition))
        if futures:
            await asyncio.gather(*futures)

    async def send_raw(
        self, topic: str, key: bytes | None, value: bytes | None, headers: list[tuple[str, bytes]]
    ) -> None:
        fut = await self._producer.send(topic, key=key, value=value, headers=headers)
        await fut
