"""Rebuild a read model from offset 0 into fresh tables, then swap them in atomically.

The rebuild runs in its own schema while the live projector keeps serving.
The swap moves the live tables out and the rebuilt ones in, and replaces the
projection's checkpoints, in one transaction under the projection's advisory
lock; the live projector then rewinds to the rebuilt checkpoints and catches up.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from projections.base import CHECKPOINTS, Projection
from projections.db import create_schema, in_schema, schema_of
from projections.runner import Decoded, decode_batch, lock_projection, write_batch
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
) -> RebuildResult:
    live = schema_of(engine)
    scratch = _rebuild_schema(live, projection)
    async with engine.begin() as conn:
        await conn.execute(text(f'DROP SCHEMA IF EXISTS "{scratch}" CASCADE'))
        await create_schema(conn, scratch, [*projection.tables, CHECKPOINTS])
        await create_schema(conn, live, [*projection.tables, CHECKPOINTS])
    target = in_schema(engine, scratch)

    async def send_dead(dead: list[DeadLetter]) -> None:
        for d in dead:
            await publisher.send_raw(d.topic, d.key, d.value, d.headers)

    # Two stages: the reader fetches and decodes the next batch (CPU) while the
    # writer waits on Postgres with the current one.
    queue: asyncio.Queue[Decoded | None] = asyncio.Queue(maxsize=2)
    counts = {"events": 0, "applied": 0, "dead": 0}
    reader = AIOKafkaConsumer(**consumer_config(settings, None))
    await reader.start()
    try:
        tps = [
            TopicPartition(topic, p)
            for topic in projection.topics(settings.topics())
            for p in sorted(await _partitions(reader, topic))
        ]
        ends = await log_end_offsets(reader, tps)
        reader.assign(tps)
        total = sum(ends.values())
        await reader.seek_to_beginning(*tps)
        if progress:
            progress(0, total)

        gaps = GapGuard(f"{projection.name}.rebuild")
        for tp, start in (await reader.beginning_offsets(tps)).items():
            gaps.expect(tp, start)

        async def read() -> None:
            remaining = {tp for tp, end in ends.items() if end > 0}
            while remaining:
                fetched = gaps.check(
                    await reader.getmany(*remaining, timeout_ms=500, max_records=10_000), reader
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
            gaps: dict[TopicPartition, int] = {}
            while (decoded := await queue.get()) is not None:
                result = await write_batch(
                    target,
                    projection,
                    decoded,
                    topics=settings.topics(),
                    send_dead=send_dead,
                    gaps_seen=gaps,
                )
                counts["applied"] += result.applied
                counts["dead"] += len(result.dead)
                counts["events"] += sum(len(v) for v in decoded.values())
                if progress:
                    progress(counts["events"], total)

        await asyncio.gather(read(), write())
    finally:
        await reader.stop()
    await swap_in(engine, projection, scratch)
    log.info("projection.rebuilt", projection=projection.name, **counts)
    return RebuildResult(projection.name, counts["events"], counts["applied"], counts["dead"])


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
        await conn.execute(
            text(
                f'INSERT INTO "{live}".projection_checkpoints '
                f'SELECT * FROM "{scratch}".projection_checkpoints WHERE projection = :p'
            ),
            {"p": projection.name},
        )
        await conn.execute(text(f'DROP SCHEMA "{old}" CASCADE'))
        await conn.execute(text(f'DROP SCHEMA "{scratch}" CASCADE'))
