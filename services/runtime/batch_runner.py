"""Batched aiokafka consumer for high-volume handlers (the diagnoser, relays).

Per fetched batch: each partition's messages go through the guard in order
(partitions run concurrently, bounded), the outputs and dead letters are
published and acknowledged, and only then are the offsets committed; the next
batch is handled meanwhile. A crash anywhere before the commit redelivers the
batch; deterministic event ids make the re-emitted outputs duplicates that
consumers drop. A stateful handler's state is rebuilt from the log on every
assignment, and a fetch that skipped records is read again (``GapGuard``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition

from events import CATALOG, Envelope, EventError, decode, header
from services.bus.consumer import Delivery, consumer_config
from services.bus.gaps import GapGuard
from services.bus.offsets import log_end_offsets
from services.bus.producer import Publisher
from services.runtime.dead_letters import DeadLetter
from services.runtime.handler import EventHandler, Guard, Outcome, RetryPolicy, StatefulHandler
from services.runtime.metrics import EVENTS_CONSUMED, EVENTS_PUBLISHED, HANDLE_SECONDS
from services.settings import Settings

__all__ = ["BatchRunner", "replay_partitions"]

log = structlog.get_logger(__name__)


async def replay_partitions(
    settings: Settings,
    partitions: dict[TopicPartition, int],
    handler: StatefulHandler,
) -> int:
    """Feed ``handler.replay`` every event of each partition below the given offset."""
    wanted = {tp: end for tp, end in partitions.items() if end > 0}
    if not wanted:
        return 0
    reader = AIOKafkaConsumer(**consumer_config(settings, None))
    await reader.start()
    count = 0
    gaps = GapGuard(f"{handler.name}.rebuild")
    try:
        reader.assign(list(wanted))
        await reader.seek_to_beginning(*wanted)
        for tp, start in (await reader.beginning_offsets(list(wanted))).items():
            gaps.expect(tp, start)
        remaining = dict(wanted)
        while remaining:
            batch = gaps.check(
                await reader.getmany(*remaining, timeout_ms=500, max_records=5000), reader
            )
            for tp, records in batch.items():
                end = remaining.get(tp)
                if end is None:
                    continue
                for rec in records:
                    if rec.offset >= end:
                        break
                    etype = header(rec.headers, "event_type")
                    if handler.event_types is not None and etype not in handler.event_types:
                        continue
                    try:
                        handler.replay(decode(rec.value, CATALOG, rec.headers))
                    except EventError:
                        continue  # was dead-lettered when first processed
                    count += 1
                if records and records[-1].offset + 1 >= end:
                    remaining.pop(tp)
    finally:
        await reader.stop()
    return count


class _Rebuild(ConsumerRebalanceListener):  # type: ignore[misc]
    """Notes a new assignment; the run loop rebuilds state before its next batch.

    aiokafka may hand out records of the new assignment while this callback is
    still running, so the rebuild cannot happen here.
    """

    def __init__(self, runner: BatchRunner) -> None:
        self.runner = runner

    async def on_partitions_revoked(self, revoked: object) -> None:
        return None

    async def on_partitions_assigned(self, assigned: Sequence[TopicPartition]) -> None:
        self.runner.pending_assignment = list(assigned)


class BatchRunner:
    def __init__(
        self,
        handler: EventHandler,
        *,
        settings: Settings,
        publisher: Publisher,
        topics: Sequence[str],
        group_id: str,
    ) -> None:
        self.handler = handler
        self.settings = settings
        self.publisher = publisher
        self.topics = list(topics)
        self.group_id = group_id
        self.guard = Guard(
            handler, topics=settings.topics(), policy=RetryPolicy.from_settings(settings, handler)
        )
        self._consumer: AIOKafkaConsumer | None = None
        self._sem = asyncio.Semaphore(settings.handler_concurrency)
        # A handler that declares ``concurrency`` (a generator whose pace is the model's,
        # as faust runs it) takes that many of a partition's events at once; outputs
        # keep their input order, and offsets are committed after the whole batch.
        within = getattr(handler, "concurrency", 1)
        self._within = asyncio.Semaphore(within) if within > 1 else None
        self.pending_assignment: list[TopicPartition] | None = None
        self.gaps = GapGuard(handler.name)
        self.ready = asyncio.Event()

    async def _positions(
        self, consumer: AIOKafkaConsumer, assigned: list[TopicPartition]
    ) -> dict[TopicPartition, int]:
        """Where each assigned partition resumes: its committed offset, else its start.

        A committed offset beyond the log's end belongs to another log (the topic
        was recreated): that partition starts over from the beginning, said aloud.
        """
        if not assigned:
            return {}
        starts = await consumer.beginning_offsets(assigned)
        reader = AIOKafkaConsumer(**consumer_config(self.settings, None))
        await reader.start()
        try:
            ends = await log_end_offsets(reader, assigned)
        finally:
            await reader.stop()
        positions = {}
        for tp in assigned:
            committed = await consumer.committed(tp)
            if committed is not None and committed > ends[tp]:
                log.warning(
                    "agent.log_changed",
                    agent=self.handler.name,
                    tp=str(tp),
                    committed=committed,
                    log_end=ends[tp],
                    action="starting the partition over from its beginning",
                )
                committed = None
            positions[tp] = committed if committed is not None else starts[tp]
            consumer.seek(tp, positions[tp])
        return positions

    async def rebuild(self, committed: dict[TopicPartition, int]) -> None:
        if not isinstance(self.handler, StatefulHandler):
            self.ready.set()
            return
        started = time.perf_counter()
        self.handler.reset()
        replayed = await replay_partitions(self.settings, committed, self.handler)
        log.info(
            "agent.state_rebuilt",
            agent=self.handler.name,
            partitions=len(committed),
            events=replayed,
            seconds=round(time.perf_counter() - started, 3),
        )
        self.ready.set()

    async def _partition(self, deliveries: list[Delivery]) -> list[Outcome]:
        async with self._sem:
            if self._within is None:  # in log order, one at a time
                return [await self.guard.run(d, self.publisher.publish) for d in deliveries]
            return list(await asyncio.gather(*(self._one(d) for d in deliveries)))

    async def _one(self, delivery: Delivery) -> Outcome:
        assert self._within is not None
        async with self._within:
            return await self.guard.run(delivery, self.publisher.publish)

    async def handle(
        self, batch: dict[TopicPartition, list[Delivery]]
    ) -> tuple[list[Envelope], list[DeadLetter]]:
        """Run one fetched batch through the guard: what to publish, what to dead-letter."""
        with HANDLE_SECONDS.labels(self.handler.name).time():
            results = await asyncio.gather(*(self._partition(ds) for ds in batch.values()))
        outputs: list[Envelope] = []
        dead: list[DeadLetter] = []
        for outcomes in results:
            for o in outcomes:
                outputs.extend(o.outputs)
                if o.dead is not None:
                    dead.append(o.dead)
        return outputs, dead

    async def _settle(
        self,
        consumer: AIOKafkaConsumer,
        outputs: list[Envelope],
        dead: list[DeadLetter],
        offsets: dict[TopicPartition, int],
        previous: asyncio.Task[None] | None,
    ) -> None:
        """Publish a batch's results, then commit its offsets after the batch before it."""
        await asyncio.gather(
            self.publisher.publish(outputs),
            *(self.publisher.send_raw(d.topic, d.key, d.value, d.headers) for d in dead),
        )
        if outputs:
            EVENTS_PUBLISHED.labels(self.handler.name).inc(len(outputs))
        if previous is not None:
            await previous
        await consumer.commit(offsets)

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop``.

        While one batch's outputs wait for the broker's acknowledgement (and its
        offsets for their commit), the next batch is already being handled; at
        most two batches are in flight, and commits stay in order.
        """
        consumer = AIOKafkaConsumer(**consumer_config(self.settings, self.group_id))
        self._consumer = consumer
        await consumer.start()
        consumer.subscribe(self.topics, listener=_Rebuild(self))
        log.info("agent.started", agent=self.handler.name, topics=self.topics, group=self.group_id)
        in_flight: asyncio.Task[None] | None = None
        try:
            while not stop.is_set():
                fetched = await consumer.getmany(
                    timeout_ms=self.settings.batch_timeout_ms,
                    max_records=self.settings.batch_max_records,
                )
                if in_flight is not None and in_flight.done():
                    in_flight.result()  # a failed publish or commit stops the worker
                if self.pending_assignment is not None:
                    if in_flight is not None:
                        await in_flight  # the rebuild reads up to the committed offsets
                        in_flight = None
                    assigned, self.pending_assignment = self.pending_assignment, None
                    positions = await self._positions(consumer, assigned)
                    await self.rebuild(positions)
                    self.gaps = GapGuard(self.handler.name)
                    for tp, offset in positions.items():
                        self.gaps.expect(tp, offset)
                    current = consumer.assignment()
                    fetched = {tp: recs for tp, recs in fetched.items() if tp in current}
                fetched = self.gaps.check(fetched, consumer)
                if not fetched:
                    continue
                batch = {
                    tp: [Delivery.from_record(r) for r in records]
                    for tp, records in fetched.items()
                }
                outputs, dead = await self.handle(batch)
                offsets = {tp: ds[-1].offset + 1 for tp, ds in batch.items()}
                previous, in_flight = (
                    in_flight,
                    asyncio.create_task(self._settle(consumer, outputs, dead, offsets, in_flight)),
                )
                if previous is not None and not previous.done():
                    await previous  # at most two batches in flight
                for tp, ds in batch.items():
                    EVENTS_CONSUMED.labels(self.handler.name, tp.topic).inc(len(ds))
            if in_flight is not None:
                await in_flight
        finally:
            if in_flight is not None and not in_flight.done():
                in_flight.cancel()
            await consumer.stop()
            self._consumer = None
            log.info("agent.stopped", agent=self.handler.name)
