"""Checkpoints belong to one log: find out when the log is another one, and start over.

A projector resumes at its checkpoints. If the log under them is not the one
they were taken from (a restarted in-memory broker, a recreated topic, a
replaced cluster), resuming would skip the new log's first events without a
word. So each checkpoint remembers the broker's cluster id and a fingerprint
of the last record it applied; on every partition assignment the projector
compares them with the log as it is now, and when they disagree it empties
the read model and folds the new log from its start, with a warning that
names the projection and why.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from projections.base import (
    CHECKPOINTS,
    Checkpoint,
    Projection,
    load_checkpoints,
    lock_projection,
)
from projections.db import schema_of
from services.bus.admin import cluster_id
from services.bus.consumer import Delivery, consumer_config
from services.bus.offsets import log_end_offsets, records_at
from services.settings import Settings

__all__ = ["LogFacts", "fingerprint", "judge", "observe", "reconcile", "start_over"]

log = structlog.get_logger(__name__)


def fingerprint(key: bytes | None, value: bytes | None) -> int:
    """A 64-bit digest of one record (signed, to fit a Postgres bigint)."""
    h = hashlib.blake2b(digest_size=8)
    h.update(len(key).to_bytes(4, "big") if key is not None else b"\xff\xff\xff\xff")
    h.update(key or b"")
    h.update(value or b"")
    return int.from_bytes(h.digest(), "big", signed=True)


def fingerprint_of(delivery: Delivery) -> int:
    return fingerprint(delivery.key, delivery.value)


@dataclass(frozen=True)
class LogFacts:
    """The log as it is now, for the partitions being checked."""

    log_id: str | None
    ends: Mapping[TopicPartition, int]
    # fingerprint of the record at each checkpoint's next_offset - 1, where it was read
    last_applied: Mapping[TopicPartition, int]
    # partitions whose record under the checkpoint is in the log but could not be read
    unreadable: frozenset[TopicPartition] = frozenset()


def judge(checkpoints: Mapping[TopicPartition, Checkpoint], facts: LogFacts) -> str | None:
    """Why these checkpoints do not belong to this log; None when they do (pure)."""
    for tp, cp in sorted(checkpoints.items(), key=lambda i: (i[0].topic, i[0].partition)):
        if cp.next_offset <= 0:
            continue
        if cp.log_id and facts.log_id and cp.log_id != facts.log_id:
            return f"the broker's cluster id is {facts.log_id!r}, the checkpoints' {cp.log_id!r}"
        end = facts.ends.get(tp)
        if end is not None and cp.next_offset > end:
            where = f"{tp.topic}:{tp.partition}"
            return f"checkpoint {cp.next_offset} of {where} is beyond the log end {end}"
        seen = facts.last_applied.get(tp)
        if cp.last_fingerprint is not None and tp in facts.unreadable:
            # Resuming unchecked could skip a new log's events: fold again instead.
            return (
                f"the record at {tp.topic}:{tp.partition}@{cp.next_offset - 1} could not be "
                "read to check it"
            )
        if cp.last_fingerprint is not None and seen is not None and seen != cp.last_fingerprint:
            return (
                f"the record at {tp.topic}:{tp.partition}@{cp.next_offset - 1} is not the one "
                "the read model applied"
            )
    return None


async def observe(
    settings: Settings, log_id: str | None, checkpoints: Mapping[TopicPartition, Checkpoint]
) -> LogFacts:
    """Read the log's ends and the records under the checkpoints (no consumer group)."""
    tps = list(checkpoints)
    if not tps:
        return LogFacts(log_id, {}, {})
    reader = AIOKafkaConsumer(**consumer_config(settings, None))
    await reader.start()
    try:
        ends = await log_end_offsets(reader, tps)
        wanted = {
            tp: cp.next_offset - 1
            for tp, cp in checkpoints.items()
            if 0 < cp.next_offset <= ends.get(tp, 0)
        }
        found: dict[TopicPartition, Any] = {}
        for timeout_s in READ_TIMEOUTS_S:  # a busy broker may take a while to answer
            missing = {tp: o for tp, o in wanted.items() if tp not in found}
            if not missing:
                break
            found.update(await records_at(reader, missing, timeout_s=timeout_s))
    finally:
        await reader.stop()
    return LogFacts(
        log_id,
        ends,
        {tp: fingerprint(r.key, r.value) for tp, r in found.items()},
        frozenset(tp for tp in wanted if tp not in found),
    )


READ_TIMEOUTS_S = (2.0, 5.0, 10.0)


async def start_over(conn: AsyncConnection, projection: Projection, reason: str) -> None:
    """Empty the read model and its checkpoints: it is folded again from the new log."""
    for table in projection.tables:
        await conn.execute(delete(table))
    await conn.execute(delete(CHECKPOINTS).where(CHECKPOINTS.c.projection == projection.name))
    log.warning(
        "projection.log_changed",
        projection=projection.name,
        reason=reason,
        action="read model emptied; folding the new log from its start",
    )


async def reconcile(
    engine: AsyncEngine,
    projection: Projection,
    settings: Settings,
    partitions: Iterable[TopicPartition] | None = None,
) -> dict[tuple[str, int], Checkpoint]:
    """The projection's checkpoints, once they are known to belong to the log as it is.

    Checks ``partitions`` (all the checkpoints have, by default) under the projection's
    lock; where the log is another one, the read model starts over (and none are left).
    Returns the checkpoints to resume from, and records nothing else.
    """
    log_id = await cluster_id(settings)
    async with engine.begin() as conn:
        await lock_projection(conn, schema_of(engine), projection)
        stored = await load_checkpoints(conn, projection.name)
        wanted = set(partitions) if partitions is not None else None
        mine = {
            TopicPartition(t, p): cp
            for (t, p), cp in stored.items()
            if wanted is None or TopicPartition(t, p) in wanted
        }
        reason = judge(mine, await observe(settings, log_id, mine))
        if reason is not None:
            await start_over(conn, projection, reason)
            return {}
    return stored
