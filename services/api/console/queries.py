"""Reads the console needs that the read models' own modules do not offer yet.

Lists of recent things (courses, drill series, learners), one dead letter with
its original bytes, concept names, and projector lag per read model. Each
reads the read models' tables through their SQLAlchemy declarations, so a
renamed column fails type checking here too; they belong beside the other
queries in ``projections/`` and can move there unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiokafka import TopicPartition
from sqlalchemy import select
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.ext.asyncio import AsyncConnection

from projections.base import checkpoint_positions
from projections.courses import COURSES
from services.api.deps import State, database
from services.bus.offsets import log_end_offsets

if TYPE_CHECKING:
    from services.bootstrap import Platform

__all__ = ["LagRow", "projector_lag", "recent_courses"]


async def recent_courses(conn: AsyncConnection, limit: int = 20) -> list[dict[str, Any]]:
    c = COURSES.c
    rows = await conn.execute(
        select(c.course_id, c.subject, c.grade, c.topic, c.status, c.requested_at)
        .order_by(c.requested_at.desc(), c.course_id)
        .limit(limit)
    )
    return [dict(r._mapping) for r in rows]


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
