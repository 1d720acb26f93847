"""Rebuild a read model from offset 0 into fresh tables, then swap them in atomically.

The rebuild runs in its own schema while the live projector keeps serving.
The swap moves the live tables out and the rebuilt ones in, and replaces the
projection's checkpoints, in one transaction under the projection's advisory
lock; the live projector then rewinds to the rebuilt checkpoints and catches up.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import AsyncEngine

from events import TopicNames
from projections.base import (
    CHECKPOINTS,
    BulkFold,
    Checkpoint,
    Projection,
    lock_projection,
    save_checkpoints,
)
from projections.db import conn_schema, create_schema, driver, in_schema, schema_of
from projections.log_check import fingerprint_of
from projections.runner import (
    Decoded,
    dead_letters_in,
    decode_batch,
    setup_tables,
    write_batch,
)
from services.bus.admin import cluster_id
from services.bus.consumer import Delivery, consumer_config
from services.bus.gaps import GapGuard
from services.bus.offsets import log_end_offsets
from services.bus.producer import Publisher
from services.runtime.dead_letters import DeadLetter
from services.settings import Settings

__all__ = ["RebuildResult", "rebuild", "swap_in"]

log = structlog.get_logger(__name__)

Progress = Callable[[int, int], None]  # (done, total)


@dataclass(frozen=True)
class RebuildResult:
    projection: str
    events: int
    applied: int
    dead_letters: int


def _rebuild_schema(live: str, projection: Projection) -> str:
    return f"{live}__rebuild_{projection.name}"[:63]


async def rebuild(
    projection: Projection,
    *,
    settings: Settings,
    engine: AsyncEngine,
    publisher: Publisher,
    progress: Progress | None = None,
    workers: int = 1,
) -> RebuildResult:
    """Rebuild ``projection`` from the whole log and swap it in.

    With ``workers`` > 1 and a projection whose rows never span partitions, the
    partitions are split between this process and ``workers - 1`` child
    processes that fold into the same fresh schema in parallel (large logs only:
    a child costs about a second to start).
    """
    live = schema_of(engine)
    scratch = _rebuild_schema(live, projection)
    ends = await _log_ends(settings, projection)
    total = sum(ends.values())
    parallel = (
        workers > 1
        and projection.partition_local
        and len(ends) > 1
        and total >= PARALLEL_MIN_EVENTS
    )
    # Child processes take about a second to start: start them now, while the fresh
    # schema is made, and only for a log large enough to repay them.
    pool = _Children(projection, workers - 1) if parallel else None
    async with engine.begin() as conn:
        await conn.execute(text(f'DROP SCHEMA IF EXISTS "{scratch}" CASCADE'))
        await create_schema(conn, scratch, [*projection.tables, CHECKPOINTS])
    await setup_tables(engine, projection)
    log_id = await cluster_id(settings)
    groups = _split(
        sorted(ends, key=lambda tp: (tp.topic, tp.partition)), workers if parallel else 1
    )
    done = {"events": 0}

    def report(n: int) -> None:
        done["events"] += n
        if progress:
            progress(done["events"], total)

    if progress:
        progress(0, total)
    own = _fold_partitions(
        projection,
        settings,
        in_schema(engine, scratch),
        publisher,
        groups[0],
        ends,
        report,
        log_id,
    )
    try:
        if pool is None:
            counts = [await own]
        else:
            counts = await pool.run(settings, scratch, groups[1:], ends, own, report, log_id)
    finally:
        if pool is not None:
            pool.close()
    await swap_in(engine, projection, scratch)
    totals = {k: sum(c[k] for c in counts) for k in ("events", "applied", "dead")}
    log.info("projection.rebuilt", projection=projection.name, workers=len(groups), **totals)
    return RebuildResult(projection.name, totals["events"], totals["applied"], totals["dead"])


PARALLEL_MIN_EVENTS = 50_000


def _split(tps: list[TopicPartition], n: int) -> list[list[TopicPartition]]:
    groups = [tps[i::n] for i in range(min(n, len(tps)))]
    return [g for g in groups if g] or [[]]


async def _log_ends(settings: Settings, projection: Projection) -> dict[TopicPartition, int]:
    reader = AIOKafkaConsumer(**consumer_config(settings, None))
    await reader.start()
    try:
        tps = [
            TopicPartition(topic, p)
            for topic in projection.topics(settings.topics())
            for p in sorted(await _partitions(reader, topic))
        ]
        return await log_end_offsets(reader, tps)
    finally:
        await reader.stop()


async def _fold_partitions(
    projection: Projection,
    settings: Settings,
    target: AsyncEngine,
    publisher: Publisher,
    tps: list[TopicPartition],
    ends: dict[TopicPartition, int],
    report: Callable[[int], None],
    log_id: str | None,
) -> dict[str, int]:
    """Fold ``tps`` from their start to ``ends`` into ``target``.

    Two stages: the reader fetches and decodes the next batch (CPU) while the
    writer waits on Postgres with the current one.
    """
    counts = {"events": 0, "applied": 0, "dead": 0}
    remaining = {tp for tp in tps if ends[tp] > 0}
    if not remaining:
        return counts
    queue: asyncio.Queue[Decoded | None] = asyncio.Queue(maxsize=2)

    async def send_dead(dead: list[DeadLetter]) -> None:
        for d in dead:
            await publisher.send_raw(d.topic, d.key, d.value, d.headers)

    reader = AIOKafkaConsumer(**consumer_config(settings, None))
    await reader.start()
    try:
        reader.assign(list(remaining))
        await reader.seek_to_beginning(*remaining)
        gaps = GapGuard(f"{projection.name}.rebuild")
        for tp, start in (await reader.beginning_offsets(list(remaining))).items():
            gaps.expect(tp, start)

        async def read() -> None:
            while remaining:
                fetched = gaps.check(
                    await reader.getmany(*remaining, timeout_ms=500, max_records=20_000), reader
                )
                batch = {
                    tp: [Delivery.from_record(r) for r in recs if r.offset < ends[tp]]
                    for tp, recs in fetched.items()
                }
                batch = {tp: ds for tp, ds in batch.items() if ds}
                for tp, ds in batch.items():
                    if ds[-1].offset + 1 >= ends[tp]:
                        remaining.discard(tp)
                if batch:
                    await queue.put(decode_batch(projection, batch))
            await queue.put(None)

        async def write() -> None:
            make_bulk = getattr(projection, "bulk", None)
            if make_bulk is not None:
                await _write_bulk(
                    target,
                    projection,
                    make_bulk(),
                    queue,
                    topics=settings.topics(),
                    send_dead=send_dead,
                    log_id=log_id,
                    counts=counts,
                    report=report,
                )
                return
            seen: dict[TopicPartition, int] = {}
            while (decoded := await queue.get()) is not None:
                # Each rebuild worker owns its partitions' rows: no lock needed.
                result = await write_batch(
                    target,
                    projection,
                    decoded,
                    topics=settings.topics(),
                    send_dead=send_dead,
                    gaps_seen=seen,
                    lock=False,
                    log_id=log_id,
                )
                n = sum(len(v) for v in decoded.values())
                counts["events"] += n
                counts["applied"] += result.applied
                counts["dead"] += len(result.dead)
                report(n)

        await asyncio.gather(read(), write())
    finally:
        await reader.stop()
    return counts


async def _write_bulk(
    target: AsyncEngine,
    projection: Projection,
    fold: BulkFold,
    queue: asyncio.Queue[Decoded | None],
    *,
    topics: TopicNames,
    send_dead: Callable[[list[DeadLetter]], Awaitable[None]],
    log_id: str | None,
    counts: dict[str, int],
    report: Callable[[int], None],
) -> None:
    """The bulk path of a rebuild: the projection turns the log into rows, which go into
    the fresh tables by COPY, in one transaction with the checkpoints.

    A projection offers it (``bulk()``) when its rows can be computed from the
    events of one group of partitions alone, as every partition-local one can.
    """
    last: dict[TopicPartition, Delivery] = {}
    async with target.begin() as conn:
        await conn.execute(text("SET LOCAL synchronous_commit = off"))
        pg = await driver(conn)
        schema = conn_schema(conn)

        async def copy(rows_by_table: dict[Table, list[tuple[Any, ...]]]) -> int:
            copied = 0
            for table, rows in rows_by_table.items():
                if rows:
                    columns = [c.name for c in list(table.columns)[: len(rows[0])]]
                    await pg.copy_records_to_table(
                        table.name, records=rows, columns=columns, schema_name=schema
                    )
                    copied += len(rows)
            return copied

        while (decoded := await queue.get()) is not None:
            dead = dead_letters_in(decoded, projection, topics)
            if dead:
                await send_dead(dead)
            events = [e.event for es in decoded.values() for e in es if e.event is not None]
            applied = await copy(fold.add(events))
            for tp, entries in decoded.items():
                last[tp] = entries[-1].delivery
            n = sum(len(v) for v in decoded.values())
            counts["events"] += n
            counts["applied"] += len(events) if applied or events else 0
            counts["dead"] += len(dead)
            report(n)
        await copy(fold.finish())
        await save_checkpoints(
            conn,
            projection.name,
            {
                (tp.topic, tp.partition): Checkpoint(d.offset + 1, log_id, fingerprint_of(d))
                for tp, d in last.items()
            },
        )


class _Children:
    """Rebuild worker processes (spawned, warmed up at once) and their progress queue."""

    def __init__(self, projection: Projection, count: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.ref = f"{type(projection).__module__}:{type(projection).__qualname__}"
        self.queue: Any = ctx.Queue()
        self.pool = ProcessPoolExecutor(
            count, mp_context=ctx, initializer=_warm, initargs=(self.queue, self.ref)
        )
        self.started = [self.pool.submit(_ready) for _ in range(count)]

    async def run(
        self,
        settings: Settings,
        scratch: str,
        groups: list[list[TopicPartition]],
        ends: dict[TopicPartition, int],
        own: Coroutine[Any, Any, dict[str, int]],
        report: Callable[[int], None],
        log_id: str | None,
    ) -> list[dict[str, int]]:
        """Run ``own`` here while the children fold the other groups."""
        loop = asyncio.get_running_loop()
        children = [
            loop.run_in_executor(
                self.pool,
                _child,
                settings,
                self.ref,
                scratch,
                [(tp.topic, tp.partition) for tp in group],
                {f"{tp.topic}:{tp.partition}": ends[tp] for tp in group},
                log_id,
            )
            for group in groups
        ]
        stop = asyncio.Event()

        def drain() -> None:
            while not self.queue.empty():
                report(self.queue.get_nowait())

        async def relay_progress() -> None:
            while not stop.is_set():
                drain()
                await asyncio.sleep(0.1)

        relay = asyncio.create_task(relay_progress())
        try:
            return list(await asyncio.gather(own, *children))
        finally:
            stop.set()
            await relay
            drain()

    def close(self) -> None:
        self.pool.shutdown(cancel_futures=True)


_PROGRESS: Any = None  # in a child: the queue its progress goes to


def _warm(queue: Any, projection_ref: str) -> None:
    """A child's start: keep the progress queue, and import what folding needs now."""
    global _PROGRESS
    _PROGRESS = queue
    from projections.db import make_engine  # noqa: F401
    from services.bus.producer import EventPublisher  # noqa: F401
    from services.runtime.family import load

    load(projection_ref)


def _ready() -> None:
    """Nothing: submitting it makes the pool start a child."""


def _child(
    settings: Settings,
    projection_ref: str,
    scratch: str,
    tps: list[tuple[str, int]],
    ends: dict[str, int],
    log_id: str | None,
) -> dict[str, int]:
    """A rebuild worker process (spawned): fold its partitions, report progress."""
    from projections.db import make_engine
    from services.bus.producer import EventPublisher
    from services.runtime.family import load
    from services.runtime.worker import tune_gc

    tune_gc()
    parts = [TopicPartition(t, p) for t, p in tps]
    ends_by_tp = {tp: ends[f"{tp.topic}:{tp.partition}"] for tp in parts}

    async def go() -> dict[str, int]:
        engine = make_engine(settings)
        try:
            async with EventPublisher(settings, client_id="replay") as publisher:
                return await _fold_partitions(
                    load(projection_ref)(),
                    settings,
                    in_schema(engine, scratch),
                    publisher,
                    parts,
                    ends_by_tp,
                    _PROGRESS.put,
                    log_id,
                )
        finally:
            await engine.dispose()

    return asyncio.run(go())


async def _partitions(reader: AIOKafkaConsumer, topic: str) -> set[int]:
    await reader.topics()  # refreshes the metadata
    parts = reader.partitions_for_topic(topic)
    if not parts:
        raise RuntimeError(f"topic {topic} does not exist")
    return set(parts)


async def swap_in(engine: AsyncEngine, projection: Projection, scratch: str) -> None:
    """Atomically replace the live tables and checkpoints with the rebuilt ones."""
    live = schema_of(engine)
    old = f"{live}__old_{projection.name}"[:63]
    async with engine.begin() as conn:
        await lock_projection(conn, live, projection)
        await conn.execute(text(f'DROP SCHEMA IF EXISTS "{old}" CASCADE'))
        await conn.execute(text(f'CREATE SCHEMA "{old}"'))
        for table in projection.tables:
            await conn.execute(text(f'ALTER TABLE "{live}"."{table.name}" SET SCHEMA "{old}"'))
            await conn.execute(text(f'ALTER TABLE "{scratch}"."{table.name}" SET SCHEMA "{live}"'))
        await conn.execute(
            text(f'DELETE FROM "{live}".projection_checkpoints WHERE projection = :p'),
            {"p": projection.name},
        )
        # Named columns: a live table upgraded in place may order them differently.
        cols = ", ".join(f'"{c.name}"' for c in CHECKPOINTS.columns)
        await conn.execute(
            text(
                f'INSERT INTO "{live}".projection_checkpoints ({cols}) '
                f'SELECT {cols} FROM "{scratch}".projection_checkpoints WHERE projection = :p'
            ),
            {"p": projection.name},
        )
        await conn.execute(text(f'DROP SCHEMA "{old}" CASCADE'))
        await conn.execute(text(f'DROP SCHEMA "{scratch}" CASCADE'))
