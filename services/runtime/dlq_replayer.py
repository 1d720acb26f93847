"""Replaying dead letters, the I/O half: read the dead-letter topics, republish, mark.

Exactly one replay runs at a time per deployment (topic prefix): it holds a
Postgres advisory lock while it reads the dead-letter topics to their end,
republishes the originals and appends their markers. A replay that waited for
the lock then reads the markers of the one before it and republishes nothing
twice. Originals are acknowledged before their markers are sent, so a crash
in between leaves them unmarked and the next replay sends them again: at
least once, never lost, and every reader dedupes by event id.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.bus.consumer import Delivery, consumer_config
from services.bus.gaps import GapGuard
from services.bus.offsets import log_end_offsets
from services.bus.producer import Publisher
from services.runtime.dlq_replay import (
    Original,
    ReplayFilter,
    ReplayPlan,
    marker_for,
    plan_replay,
)
from services.settings import Settings

__all__ = ["CHUNK", "DeadLetterLogError", "plan_dead_letter_replay", "replay_dead_letters"]

CHUNK = 200  # originals in flight at once; their markers follow each chunk
Progress = Callable[[int, int], None]  # (originals republished, total)


class DeadLetterLogError(RuntimeError):
    """The dead-letter topics could not be read to their end."""


async def _read_dead_letter_topics(settings: Settings, timeout_s: float) -> list[Delivery]:
    """Every record of every dead-letter topic, from offset 0 to the current end."""
    reader = AIOKafkaConsumer(**consumer_config(settings, None))
    await reader.start()
    try:
        await reader.topics()  # refreshes the metadata
        tps = [
            TopicPartition(t, p)
            for t in settings.topics().all_dlq()
            for p in sorted(reader.partitions_for_topic(t) or ())
        ]
        ends = await log_end_offsets(reader, tps)
        pending = {tp for tp in tps if ends[tp] > 0}
        if not pending:
            return []
        reader.assign(sorted(pending, key=lambda tp: (tp.topic, tp.partition)))
        await reader.seek_to_beginning(*pending)
        gaps = GapGuard("dlq.replay")
        for tp in pending:
            gaps.expect(tp, 0)
        records: list[Delivery] = []
        deadline = time.monotonic() + timeout_s
        while pending:
            if time.monotonic() > deadline:
                missing = ", ".join(f"{tp.topic}:{tp.partition}" for tp in sorted(pending))
                raise DeadLetterLogError(f"timed out reading dead-letter partitions {missing}")
            fetched = gaps.check(await reader.getmany(*pending, timeout_ms=200), reader)
            for tp, recs in fetched.items():
                records.extend(Delivery.from_record(r) for r in recs if r.offset < ends[tp])
                if recs and recs[-1].offset + 1 >= ends[tp]:
                    pending.discard(tp)
        return sorted(records, key=lambda d: (d.topic, d.partition, d.offset))
    finally:
        await reader.stop()


async def _republish(publisher: Publisher, originals: list[Original]) -> None:
    """Each source partition in log order (one aggregate's events stay in order), the
    partitions concurrently."""
    lanes: dict[tuple[str, int], list[Original]] = {}
    for o in originals:
        lanes.setdefault((o.source.topic, o.source.partition), []).append(o)

    async def lane(items: list[Original]) -> None:
        for o in items:
            await publisher.send_raw(o.source.topic, o.key, o.value, o.headers)

    await asyncio.gather(*(lane(items) for items in lanes.values()))


async def plan_dead_letter_replay(
    settings: Settings, flt: ReplayFilter, *, timeout_s: float = 30.0
) -> ReplayPlan:
    """What a replay would republish now (reads the log, takes no lock, publishes nothing)."""
    records = await _read_dead_letter_topics(settings, timeout_s)
    return plan_replay(records, flt, settings.topics())


async def replay_dead_letters(
    settings: Settings,
    flt: ReplayFilter,
    *,
    publisher: Publisher,
    engine: AsyncEngine,
    replayed_by: str,
    progress: Progress | None = None,
    timeout_s: float = 30.0,
) -> ReplayPlan:
    """Republish the originals of the dead letters ``flt`` selects that no replay has yet.

    Returns the plan carried out: ``originals`` were republished and marked,
    ``already`` had been replayed before.
    """
    topics = settings.topics()
    lock = f"nls.dlq-replay.{settings.topic_prefix}"
    async with engine.connect() as conn, conn.begin():
        await conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": lock})
        plan = plan_replay(await _read_dead_letter_topics(settings, timeout_s), flt, topics)
        total = len(plan.originals)
        if progress:
            progress(0, total)
        done = 0
        for start in range(0, total, CHUNK):
            chunk = plan.originals[start : start + CHUNK]
            await _republish(publisher, chunk)
            now = datetime.now(UTC)
            markers = [
                marker_for(o, topics=topics, replayed_by=replayed_by, now=now) for o in chunk
            ]
            await asyncio.gather(
                *(publisher.send_raw(m.topic, m.key, m.value, m.headers) for m in markers)
            )
            done += len(chunk)
            if progress:
                progress(done, total)
    return plan
