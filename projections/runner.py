"""The projector: folds batches into read models, checkpoint in the same transaction.

Postgres, not the consumer group, owns the position: every batch reads the
checkpoints under an advisory lock, skips what is already applied, rewinds a
partition whose batch starts past its checkpoint (after a rebuild was swapped
in, or the database was reset), and stores the new checkpoints with the rows.
Redelivery and restarts therefore never double-apply. A batch holding nothing for
the projection costs no transaction: its checkpoint moves with the next write.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from events import CATALOG, Envelope, EventError, TopicNames, decode, header
from projections.base import (
    CHECKPOINT_UPGRADES,
    CHECKPOINTS,
    Applied,
    Checkpoint,
    Projection,
    begin_fold,
    load_checkpoints,
    save_checkpoints,
)
from projections.db import create_schema, qualified, schema_of
from projections.log_check import fingerprint_of, reconcile
from services.bus.admin import cluster_id
from services.bus.consumer import Delivery, consumer_config
from services.bus.gaps import GapGuard
from services.bus.producer import Publisher
from services.runtime.dead_letters import DeadLetter, dead_letter_for
from services.runtime.errors import is_retryable
from services.runtime.handler import RetryPolicy
from services.runtime.metrics import DEAD_LETTERS, EVENTS_CONSUMED, HANDLE_SECONDS
from services.settings import Settings

__all__ = [
    "Decoded",
    "Entry",
    "FoldResult",
    "Projector",
    "ReadPast",
    "agent_name",
    "dead_letters_in",
    "decode_batch",
    "fold_batch",
    "setup_tables",
    "write_batch",
]

log = structlog.get_logger(__name__)

Batch = dict[TopicPartition, list[Delivery]]
# How long a projector may go without a write while it reads only events it ignores
READ_PAST_WRITE_S = 1.0
SendDead = Callable[[list[DeadLetter]], Awaitable[None]]


def agent_name(projection: Projection) -> str:
    return f"projection.{projection.name}"


async def setup_tables(engine: AsyncEngine, *projections: Projection) -> None:
    """Create the read models' tables and the checkpoints, where missing, in one
    transaction; add the checkpoint columns a database from an earlier release lacks."""
    async with engine.begin() as conn:
        schema = schema_of(engine)
        tables = [t for p in projections for t in p.tables]
        await create_schema(conn, schema, [*dict.fromkeys(tables), CHECKPOINTS])
        have = set(
            (
                await conn.execute(
                    text(
                        "SELECT column_name FROM information_schema.columns "
                        "WHERE table_schema = :s AND table_name = 'projection_checkpoints'"
                    ),
                    {"s": schema},
                )
            ).scalars()
        )
        # ALTER TABLE locks the table every projection writes: only when it must
        for column, kind in CHECKPOINT_UPGRADES.items():
            if column not in have:
                table = qualified(conn, CHECKPOINTS)
                await conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {column} {kind}"))


@dataclass
class FoldResult:
    applied: int = 0
    rewind: dict[TopicPartition, int] = field(default_factory=dict)
    dead: list[DeadLetter] = field(default_factory=list)
    dead_kinds: list[str] = field(default_factory=list)
    # the checkpoints stored: partition -> next offset
    written: dict[TopicPartition, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ReadPast:
    """Records read without a write, as nothing in them was for the projection: from
    ``checkpoint`` (the stored one they continue) up to ``next_offset``."""

    checkpoint: int
    next_offset: int
    fingerprint: int  # of the record at next_offset - 1


async def _apply_isolating(
    conn: AsyncConnection, projection: Projection, items: list[Applied]
) -> list[tuple[Applied, Exception]]:
    """Apply event by event, each on a savepoint, and report the poison."""
    failures: list[tuple[Applied, Exception]] = []
    for item in items:
        try:
            async with conn.begin_nested():
                await projection.apply(conn, [item])
        except Exception as exc:
            if is_retryable(exc):
                raise
            failures.append((item, exc))
    return failures


@dataclass(frozen=True, slots=True)
class Entry:
    """One record after decoding: its event, or why it is a dead letter, or neither (skipped)."""

    delivery: Delivery
    event: Envelope | None = None
    dead_kind: str | None = None
    dead_reason: str = ""


Decoded = dict[TopicPartition, list[Entry]]


def decode_batch(projection: Projection, batch: Batch) -> Decoded:
    """The CPU half of a fold: decode what the projection wants. No I/O."""
    decoded: Decoded = {}
    for tp, deliveries in batch.items():
        entries = decoded[tp] = []
        for d in deliveries:
            if not projection.decodes:
                entries.append(Entry(d))
                continue
            etype = header(d.headers, "event_type")
            if etype in CATALOG and not projection.wants(etype):
                entries.append(Entry(d))
                continue
            try:
                event = decode(d.value, CATALOG, d.headers)
            except EventError as exc:
                entries.append(Entry(d, dead_kind=exc.kind, dead_reason=exc.reason))
                continue
            entries.append(Entry(d, event if projection.wants(event.event_type) else None))
    return decoded


def dead_letters_in(
    decoded: Decoded, projection: Projection, topics: TopicNames
) -> list[DeadLetter]:
    """The dead letters of a decoded batch: what did not decode, with why."""
    agent = agent_name(projection)
    out = []
    for entries in decoded.values():
        for e in entries:
            if e.dead_kind is not None:
                DEAD_LETTERS.labels(agent, e.dead_kind).inc()
                out.append(
                    dead_letter_for(
                        e.delivery,
                        topics=topics,
                        agent=agent,
                        kind=e.dead_kind,
                        reason=e.dead_reason,
                    )
                )
    return out


async def write_batch(
    engine: AsyncEngine,
    projection: Projection,
    decoded: Decoded,
    *,
    topics: TopicNames,
    send_dead: SendDead,
    gaps_seen: dict[TopicPartition, int] | None = None,
    lock: bool = True,
    log_id: str | None = None,
    read_past: Mapping[TopicPartition, ReadPast] | None = None,
) -> FoldResult:
    """The I/O half: apply what is past the checkpoints, with the new checkpoints, in one
    transaction.

    The batch is applied at once; only when that fails for good is it applied again,
    event by event (each on a savepoint), so a poison event becomes a dead letter and
    the others land. A partition whose batch starts past its checkpoint is rewound,
    once per checkpoint (``gaps_seen``), unless ``read_past`` says the records between
    were read and held nothing for this projection.
    """
    write = functools.partial(
        _write,
        engine,
        projection,
        decoded,
        topics=topics,
        send_dead=send_dead,
        gaps_seen=gaps_seen,
        lock=lock,
        log_id=log_id,
        read_past=read_past or {},
    )
    try:
        result = await write(isolate=False)
    except Exception as exc:
        if is_retryable(exc):
            raise
        result = await write(isolate=True)
    agent = agent_name(projection)
    for kind in result.dead_kinds:
        DEAD_LETTERS.labels(agent, kind).inc()
    if gaps_seen is not None:
        gaps_seen.update(result.rewind)
    return result


async def _write(
    engine: AsyncEngine,
    projection: Projection,
    decoded: Decoded,
    *,
    topics: TopicNames,
    send_dead: SendDead,
    gaps_seen: Mapping[TopicPartition, int] | None,
    lock: bool,
    log_id: str | None,
    read_past: Mapping[TopicPartition, ReadPast],
    isolate: bool,
) -> FoldResult:
    result = FoldResult()
    agent = agent_name(projection)

    def dead(d: Delivery, kind: str, reason: str) -> None:
        result.dead_kinds.append(kind)
        result.dead.append(dead_letter_for(d, topics=topics, agent=agent, kind=kind, reason=reason))

    async with engine.begin() as conn:
        await begin_fold(conn, schema_of(engine), projection, lock)
        checkpoints = await load_checkpoints(conn, projection.name)
        advanced: dict[tuple[str, int], Checkpoint] = {}
        items: list[Applied] = []
        for tp, entries in decoded.items():
            known = checkpoints.get((tp.topic, tp.partition))
            start = known.next_offset if known else 0
            past = read_past.get(tp)
            if past is not None and past.checkpoint == start:
                start = past.next_offset
            first = entries[0].delivery.offset
            if first > start and (gaps_seen is None or gaps_seen.get(tp) != start):
                result.rewind[tp] = start
                continue
            fresh = [e for e in entries if e.delivery.offset >= start]
            if not fresh:
                continue
            last = fresh[-1].delivery
            advanced[(tp.topic, tp.partition)] = Checkpoint(
                last.offset + 1, log_id, fingerprint_of(last)
            )
            for e in fresh:
                if e.dead_kind is not None:
                    dead(e.delivery, e.dead_kind, e.dead_reason)
                elif e.event is not None or not projection.decodes:
                    items.append(Applied(e.delivery, e.event))
        if not isolate:
            if items:
                await projection.apply(conn, items)
        else:
            for item, exc in await _apply_isolating(conn, projection, items):
                dead(item.delivery, "handler_failed", f"{type(exc).__name__}: {exc}")
        # Dead letters are acknowledged before the checkpoint commits: a crash
        # in between re-sends them, and the dead-letter read model dedupes.
        if result.dead:
            await send_dead(result.dead)
        await save_checkpoints(conn, projection.name, advanced)
        result.applied = len(items)
        result.written = {TopicPartition(t, p): cp.next_offset for (t, p), cp in advanced.items()}
    return result


async def write_read_past(
    engine: AsyncEngine,
    projection: Projection,
    read_past: Mapping[TopicPartition, ReadPast],
    *,
    log_id: str | None,
) -> dict[TopicPartition, int]:
    """Move the checkpoints over records read without a write, where they still are
    where those records began; the checkpoints written (partition -> next offset)."""
    async with engine.begin() as conn:
        await begin_fold(conn, schema_of(engine), projection, True)
        stored = await load_checkpoints(conn, projection.name)
        advanced = {}
        for tp, past in read_past.items():
            known = stored.get((tp.topic, tp.partition))
            if (known.next_offset if known else 0) == past.checkpoint:
                advanced[(tp.topic, tp.partition)] = Checkpoint(
                    past.next_offset, log_id, past.fingerprint
                )
        await save_checkpoints(conn, projection.name, advanced)
    return {TopicPartition(t, p): cp.next_offset for (t, p), cp in advanced.items()}


async def fold_batch(
    engine: AsyncEngine,
    projection: Projection,
    batch: Batch,
    *,
    topics: TopicNames,
    send_dead: SendDead,
    gaps_seen: dict[TopicPartition, int] | None = None,
    log_id: str | None = None,
) -> FoldResult:
    """Decode and apply one fetched batch in one transaction with its checkpoints."""
    return await write_batch(
        engine,
        projection,
        decode_batch(projection, batch),
        topics=topics,
        send_dead=send_dead,
        gaps_seen=gaps_seen,
        log_id=log_id,
    )


class _SeekToCheckpoint(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, projector: Projector) -> None:
        self.projector = projector

    async def on_partitions_revoked(self, revoked: object) -> None:
        self.projector.verified.clear()
        self.projector.stored.clear()
        self.projector.read_past.clear()

    async def on_partitions_assigned(self, assigned: Sequence[TopicPartition]) -> None:
        # aiokafka logs and swallows a listener's exception, and the consumer would then
        # resume where the group left off: a partition not checked here stays unverified,
        # and the run loop checks it before folding anything of it.
        try:
            await self.projector.seek_to_checkpoints(list(assigned))
        except Exception as exc:
            log.warning(
                "projection.check_deferred",
                projection=self.projector.projection.name,
                reason=f"{type(exc).__name__}: {exc}",
            )


class Projector:
    """Runs one projection as a batched consumer."""

    def __init__(
        self,
        projection: Projection,
        *,
        settings: Settings,
        engine: AsyncEngine,
        publisher: Publisher,
    ) -> None:
        self.projection = projection
        self.settings = settings
        self.engine = engine
        self.publisher = publisher
        self.topics = settings.topics()
        self.policy = RetryPolicy(None, settings.retry_base_delay_s, settings.retry_max_delay_s)
        self._consumer: AIOKafkaConsumer | None = None
        self._gaps: dict[TopicPartition, int] = {}
        self.fetch_gaps = GapGuard(agent_name(projection))
        self.ready = asyncio.Event()
        self.log_id: str | None = None
        # partitions whose position was checked against the log since their assignment
        self.verified: set[TopicPartition] = set()
        # the checkpoints this projector knows are stored, and what it read past since
        self.stored: dict[TopicPartition, int] = {}
        self.read_past: dict[TopicPartition, ReadPast] = {}
        self._last_write = 0.0

    @property
    def group_id(self) -> str:
        return f"{self.settings.topic_prefix}.{agent_name(self.projection)}"

    async def send_dead(self, dead: list[DeadLetter]) -> None:
        await asyncio.gather(
            *(self.publisher.send_raw(d.topic, d.key, d.value, d.headers) for d in dead)
        )

    async def seek_to_checkpoints(self, assigned: list[TopicPartition]) -> None:
        """Resume each assigned partition at its checkpoint, if the checkpoints belong
        to this log; otherwise start the read model over (see ``log_check``)."""
        consumer = self._consumer
        if consumer is None:
            return
        self.log_id = await cluster_id(self.settings)
        stored = await reconcile(self.engine, self.projection, self.settings, assigned)
        for tp in assigned:
            known = stored.get((tp.topic, tp.partition))
            offset = known.next_offset if known else 0
            consumer.seek(tp, offset)
            self.fetch_gaps.expect(tp, offset)
            self._gaps.pop(tp, None)
            self.stored[tp] = offset
            self.read_past.pop(tp, None)
        self.verified.update(assigned)
        self.ready.set()

    def _retry_later(self, event: str, exc: Exception) -> None:
        """Log a failure worth retrying; re-raise any other."""
        if not is_retryable(exc):
            raise exc
        log.warning(event, projection=self.projection.name, reason=f"{type(exc).__name__}: {exc}")

    async def _only_verified(self, consumer: AIOKafkaConsumer, fetched: Any) -> Any:
        """The fetched records of partitions already checked against the log; the others
        are checked now (and sought to their checkpoints), their records read again."""
        unchecked = [tp for tp in fetched if tp not in self.verified]
        if not unchecked:
            return fetched
        try:
            await self.seek_to_checkpoints(unchecked)
        except Exception as exc:
            self._retry_later("projection.check_retry", exc)
            for tp in unchecked:  # read them again once the check succeeds
                consumer.seek(tp, fetched[tp][0].offset)
            await asyncio.sleep(self.policy.delay(1))
        return {tp: recs for tp, recs in fetched.items() if tp not in unchecked}

    def _read_without_write(self, decoded: Decoded) -> bool:
        """Take a batch with nothing for the projection as read, without a transaction
        (its checkpoint moves with the next write, at the latest a second later).
        False when the batch must be written: something to apply or dead, a position
        that does not follow on from the known one, or the last write a second old."""
        if self._write_due or not self.projection.decodes:
            return False
        entries = [e for es in decoded.values() for e in es]
        if any(e.event is not None or e.dead_kind is not None for e in entries):
            return False
        bases: dict[TopicPartition, int] = {}
        for tp, es in decoded.items():
            past = self.read_past.get(tp)
            base = past.checkpoint if past else self.stored.get(tp)
            follows = past.next_offset if past else base
            if base is None or es[0].delivery.offset != follows:
                return False
            bases[tp] = base
        for tp, es in decoded.items():
            last = es[-1].delivery
            self.read_past[tp] = ReadPast(bases[tp], last.offset + 1, fingerprint_of(last))
        return True

    @property
    def _write_due(self) -> bool:
        """The last write is over ``READ_PAST_WRITE_S`` old."""
        return time.monotonic() - self._last_write > READ_PAST_WRITE_S

    def _wrote(self, written: dict[TopicPartition, int]) -> None:
        self._last_write = time.monotonic()
        for tp, offset in written.items():
            self.stored[tp] = offset
            self.read_past.pop(tp, None)

    async def _write_read_past_when_idle(self) -> None:
        """With nothing fetched, store what was read past once the last write is a
        second old, so positions and lag read from Postgres stay current."""
        if not self.read_past or not self._write_due:
            return
        try:
            written = await write_read_past(
                self.engine, self.projection, dict(self.read_past), log_id=self.log_id
            )
        except Exception as exc:
            self._retry_later("projection.retry", exc)
            return  # the next idle fetch tries again
        self._wrote(written)
        self.read_past.clear()  # those not written no longer continue the stored checkpoint

    async def _fold_with_retry(self, batch: Batch) -> FoldResult:
        decoded = decode_batch(self.projection, batch)
        if self._read_without_write(decoded):
            return FoldResult()
        attempt = 0
        while True:
            attempt += 1
            try:
                result = await write_batch(
                    self.engine,
                    self.projection,
                    decoded,
                    topics=self.topics,
                    send_dead=self.send_dead,
                    gaps_seen=self._gaps,
                    log_id=self.log_id,
                    read_past=self.read_past,
                )
                self._wrote(result.written)
                return result
            except Exception as exc:
                if not is_retryable(exc) or self.policy.exhausted(attempt):
                    raise
                delay = self.policy.delay(attempt)
                log.warning(
                    "projection.retry",
                    projection=self.projection.name,
                    attempt=attempt,
                    delay_s=round(delay, 3),
                    reason=f"{type(exc).__name__}: {exc}",
                )
                await asyncio.sleep(delay)

    async def run(self, stop: asyncio.Event) -> None:
        await setup_tables(self.engine, self.projection)
        consumer = AIOKafkaConsumer(**consumer_config(self.settings, self.group_id))
        self._consumer = consumer
        await consumer.start()
        consumer.subscribe(self.projection.topics(self.topics), listener=_SeekToCheckpoint(self))
        name = agent_name(self.projection)
        log.info("projection.started", projection=self.projection.name, group=self.group_id)
        try:
            while not stop.is_set():
                fetched = await consumer.getmany(
                    timeout_ms=self.settings.batch_timeout_ms,
                    max_records=self.settings.batch_max_records,
                )
                fetched = await self._only_verified(consumer, fetched)
                fetched = self.fetch_gaps.check(fetched, consumer)
                if not fetched:
                    await self._write_read_past_when_idle()
                    continue
                batch = {
                    tp: [Delivery.from_record(r) for r in recs] for tp, recs in fetched.items()
                }
                with HANDLE_SECONDS.labels(name).time():
                    result = await self._fold_with_retry(batch)
                for tp, offset in result.rewind.items():
                    log.info(
                        "projection.rewind", projection=self.projection.name, tp=str(tp), to=offset
                    )
                    consumer.seek(tp, offset)
                    self.fetch_gaps.expect(tp, offset)
                done = {
                    tp: ds[-1].offset + 1 for tp, ds in batch.items() if tp not in result.rewind
                }
                for tp, ds in batch.items():
                    if tp not in result.rewind:
                        EVENTS_CONSUMED.labels(name, tp.topic).inc(len(ds))
                if done:
                    # Informational (lag in Redpanda Console); Postgres holds the truth.
                    try:
                        await consumer.commit(done)
                    except KafkaError as exc:
                        log.info("projection.commit_skipped", reason=str(exc))
        finally:
            await consumer.stop()
            self._consumer = None
            log.info("projection.stopped", projection=self.projection.name)
