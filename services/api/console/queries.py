"""Reads the console needs that the read models' own modules do not offer yet.

Lists of recent things (courses, drill series, learners), one dead letter with
its original bytes, concept names, and projector lag per read model. Each
reads the read models' tables through their SQLAlchemy declarations, so a
renamed column fails type checking here too; they belong beside the other
queries in ``projections/`` and can move there unchanged.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aiokafka import TopicPartition
from sqlalchemy import func, select
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.ext.asyncio import AsyncConnection

from projections.base import checkpoint_positions
from projections.content import CONCEPTS
from projections.courses import COURSES
from projections.dead_letters import DEAD_LETTER_REPLAYS, DEAD_LETTERS
from projections.drills import DRILL_SERIES
from projections.learning import ATTEMPTS
from services.api.deps import State, database
from services.bus.offsets import log_end_offsets

if TYPE_CHECKING:
    from services.bootstrap import Platform

__all__ = [
    "DeadLetterDetail",
    "LagRow",
    "concept_names",
    "dead_letter_at",
    "projector_lag",
    "recent_courses",
    "recent_learners",
    "recent_series",
]


async def recent_courses(conn: AsyncConnection, limit: int = 20) -> list[dict[str, Any]]:
    c = COURSES.c
    rows = await conn.execute(
        select(c.course_id, c.subject, c.grade, c.topic, c.status, c.requested_at)
        .order_by(c.requested_at.desc(), c.course_id)
        .limit(limit)
    )
    return [dict(r._mapping) for r in rows]


async def recent_series(conn: AsyncConnection, limit: int = 20) -> list[dict[str, Any]]:
    s = DRILL_SERIES.c
    rows = await conn.execute(
        select(
            s.artifact_id,
            s.project_id,
            s.status,
            s.target_drills,
            s.drills_generated,
            s.requested_at,
        )
        .order_by(s.requested_at.desc(), s.artifact_id)
        .limit(limit)
    )
    return [dict(r._mapping) for r in rows]


async def recent_learners(conn: AsyncConnection, limit: int = 30) -> list[dict[str, Any]]:
    a = ATTEMPTS.c
    rows = await conn.execute(
        select(
            a.learner_id,
            func.count().label("answers"),
            func.max(a.answered_at).label("last_answered_at"),
        )
        .group_by(a.learner_id)
        .order_by(func.max(a.answered_at).desc(), a.learner_id)
        .limit(limit)
    )
    return [dict(r._mapping) for r in rows]


async def concept_names(conn: AsyncConnection, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Names of the concepts the content read model knows (missing ones are left out)."""
    wanted = sorted(set(ids), key=str)
    if not wanted:
        return {}
    c = CONCEPTS.c
    try:
        rows = await conn.execute(select(c.concept_id, c.name).where(c.concept_id.in_(wanted)))
    except ProgrammingError:
        return {}  # the content read model is not built: ids it is
    return {r.concept_id: r.name for r in rows}


@dataclass(frozen=True)
class DeadLetterDetail:
    dlq_topic: str
    dlq_partition: int
    dlq_offset: int
    agent: str
    kind: str
    reason: str
    source_topic: str
    source_partition: int
    source_offset: int
    event_type: str | None
    failed_at: datetime
    key: bytes | None
    original: bytes
    replayed_at: datetime | None


async def dead_letter_at(
    conn: AsyncConnection, topic: str, partition: int, offset: int
) -> DeadLetterDetail | None:
    """One dead letter by its place in its dead-letter topic, with the original bytes."""
    c, r = DEAD_LETTERS.c, DEAD_LETTER_REPLAYS.c
    row = (
        await conn.execute(
            select(DEAD_LETTERS).where(
                c.dlq_topic == topic, c.dlq_partition == partition, c.dlq_offset == offset
            )
        )
    ).first()
    if row is None:
        return None
    replayed = (
        await conn.execute(
            select(func.min(r.replayed_at)).where(
                r.source_topic == row.source_topic,
                r.source_partition == row.source_partition,
                r.source_offset == row.source_offset,
            )
        )
    ).scalar_one_or_none()
    data = dict(row._mapping)
    data["original"] = bytes(data["original"])
    data["key"] = bytes(data["key"]) if data["key"] is not None else None
    return DeadLetterDetail(**data, replayed_at=replayed)


@dataclass(frozen=True)
class LagRow:
    read_model: str
    lag: int  # records on its topics not folded yet
    partitions: int
    behind: int  # partitions with lag


async def projector_lag(state: State, platform: Platform) -> list[LagRow]:
    """Per read model: records in its topics' partitions beyond its checkpoints."""
    names = state.settings.topics()
    async with database(state.engine) as conn:
        try:
            positions = await checkpoint_positions(conn)
        except ProgrammingError:
            positions = {}  # no projector has run yet: everything is lag
    wanted = {p.name: p.topics(names) for p in platform.projections.values()}
    topics = sorted({t for ts in wanted.values() for t in ts})
    async with state.reader_lock:
        await state.reader.topics()  # refreshes the metadata
        tps = [
            TopicPartition(t, p)
            for t in topics
            for p in sorted(state.reader.partitions_for_topic(t) or ())
        ]
        ends = await log_end_offsets(state.reader, tps)
    return [_lag_of(name, ts, ends, positions) for name, ts in sorted(wanted.items())]


def _lag_of(
    name: str,
    topics: list[str],
    ends: Mapping[TopicPartition, int],
    positions: Mapping[tuple[str, str, int], int],
) -> LagRow:
    lags = [
        max(0, end - positions.get((name, tp.topic, tp.partition), 0))
        for tp, end in ends.items()
        if tp.topic in topics
    ]
    return LagRow(name, sum(lags), len(lags), sum(1 for x in lags if x))
