"""Dead letters read model: what could not be processed, by whom, why, and its bytes.

A dead-letter topic also holds replay markers (``services.runtime.dlq_replay``):
each is folded into ``dead_letter_replays``, keyed by the replayed original's
coordinates, and a dead letter's ``replayed_at`` is read through that table.
Markers and dead letters may therefore arrive in any order (a parallel
rebuild), and a rebuild restores every mark from the log.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import BaseModel
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    select,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from events import TopicNames, header
from projections.base import Applied
from projections.db import METADATA
from services.runtime.dead_letters import read_dead_letter
from services.runtime.dlq_replay import read_marker
from services.settings import Latency

__all__ = [
    "DEAD_LETTERS",
    "DEAD_LETTER_REPLAYS",
    "DeadLetterDetail",
    "DeadLetterView",
    "DeadLettersProjection",
    "dead_letter_at",
    "dead_letters",
]

DEAD_LETTERS = Table(
    "dead_letters",
    METADATA,
    Column("dlq_topic", String(255), primary_key=True),
    Column("dlq_partition", Integer, primary_key=True),
    Column("dlq_offset", BigInteger, primary_key=True),
    Column("agent", String(100), nullable=False),
    Column("kind", String(50), nullable=False),
    Column("reason", Text, nullable=False),
    Column("source_topic", String(255), nullable=False),
    Column("source_partition", Integer, nullable=False),
    Column("source_offset", BigInteger, nullable=False),
    Column("event_type", String(100)),
    Column("failed_at", DateTime(timezone=True), nullable=False),
    Column("key", LargeBinary),
    Column("original", LargeBinary, nullable=False),
    # The same failure reported twice (a redelivered batch) is one dead letter.
    UniqueConstraint("agent", "source_topic", "source_partition", "source_offset"),
)

# One row per replay marker (keyed by the marker's own coordinates).
DEAD_LETTER_REPLAYS = Table(
    "dead_letter_replays",
    METADATA,
    Column("dlq_topic", String(255), primary_key=True),
    Column("dlq_partition", Integer, primary_key=True),
    Column("dlq_offset", BigInteger, primary_key=True),
    Column("source_topic", String(255), nullable=False),
    Column("source_partition", Integer, nullable=False),
    Column("source_offset", BigInteger, nullable=False),
    Column("replayed_at", DateTime(timezone=True), nullable=False),
    Column("replayed_by", String(100), nullable=False),
    Index("dead_letter_replays_source", "source_topic", "source_partition", "source_offset"),
)


class DeadLettersProjection:
    name = "dead_letters"
    decodes = False
    tables = (DEAD_LETTERS, DEAD_LETTER_REPLAYS)
    volatile_columns: frozenset[str] = frozenset()
    partition_local = True  # a failure is reported on one partition
    latency = Latency.BULK

    def topics(self, names: TopicNames) -> list[str]:
        return names.all_dlq()

    def wants(self, event_type: str | None) -> bool:
        return True

    async def apply(self, conn: AsyncConnection, batch: Sequence[Applied]) -> None:
        rows, replays = [], []
        for item in batch:
            d = item.delivery
            where = {"dlq_topic": d.topic, "dlq_partition": d.partition, "dlq_offset": d.offset}
            try:
                marker = read_marker(d)
                if marker is not None:
                    replays.append(
                        where
                        | {
                            "source_topic": marker.source.topic,
                            "source_partition": marker.source.partition,
                            "source_offset": marker.source.offset,
                            "replayed_at": marker.replayed_at,
                            "replayed_by": marker.replayed_by[:100],
                        }
                    )
                    continue
                info = read_dead_letter(d)
            except ValueError as exc:
                # Not written by our runtime. Keep it here rather than dead-lettering
                # a dead letter onto the topic it came from.
                rows.append(
                    where
                    | {
                        "agent": "unknown",
                        "kind": "malformed_dead_letter",
                        "reason": str(exc),
                        "source_topic": d.topic,
                        "source_partition": d.partition,
                        "source_offset": d.offset,
                        "event_type": header(d.headers, "event_type"),
                        "failed_at": datetime.fromtimestamp(0, UTC),
                        "key": d.key,
                        "original": d.value or b"",
                    }
                )
                continue
            rows.append(
                where
                | {
                    "agent": info.agent,
                    "kind": info.kind,
                    "reason": info.reason,
                    "source_topic": info.source_topic,
                    "source_partition": info.source_partition,
                    "source_offset": info.source_offset,
                    "event_type": info.event_type,
                    "failed_at": info.failed_at,
                    "key": d.key,
                    "original": info.original,
                }
            )
        if rows:
            await conn.execute(insert(DEAD_LETTERS).on_conflict_do_nothing(), rows)
        if replays:
            await conn.execute(insert(DEAD_LETTER_REPLAYS).on_conflict_do_nothing(), replays)


# queries (the API and the CLI read through these) ----------------------------------
class DeadLetterView(BaseModel):
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
    original: str  # the original bytes, decoded leniently for display
    replayed_at: datetime | None = None  # when its original was republished (`nls dlq replay`)


async def dead_letters(
    conn: AsyncConnection,
    *,
    limit: int = 50,
    offset: int = 0,
    agent: str | None = None,
    kind: str | None = None,
    replayed: bool | None = None,
) -> list[DeadLetterView]:
    """Dead letters, newest first; ``replayed`` selects replayed (True) or pending (False)."""
    c, r = DEAD_LETTERS.c, DEAD_LETTER_REPLAYS.c
    # A replay marks the original, so every dead letter of it (one per failing reader).
    replays = (
        select(
            r.source_topic,
            r.source_partition,
            r.source_offset,
            func.min(r.replayed_at).label("replayed_at"),
        )
        .group_by(r.source_topic, r.source_partition, r.source_offset)
        .subquery()
    )
    joined = DEAD_LETTERS.outerjoin(
        replays,
        (replays.c.source_topic == c.source_topic)
        & (replays.c.source_partition == c.source_partition)
        & (replays.c.source_offset == c.source_offset),
    )
    stmt = select(DEAD_LETTERS, replays.c.replayed_at).select_from(joined)
    if agent is not None:
        stmt = stmt.where(c.agent == agent)
    if kind is not None:
        stmt = stmt.where(c.kind == kind)
    if replayed is not None:
        has = replays.c.replayed_at.is_not(None)
        stmt = stmt.where(has if replayed else ~has)
    order = (c.failed_at.desc(), c.dlq_topic, c.dlq_partition, c.dlq_offset)
    stmt = stmt.order_by(*order).limit(limit).offset(offset)
    rows = []
    for row in await conn.execute(stmt):
        data = dict(row._mapping)
        data["original"] = bytes(data["original"]).decode("utf-8", errors="replace")
        rows.append(DeadLetterView.model_validate(data))
    return rows


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
