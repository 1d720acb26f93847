"""training_sessions: each session as adjusted just in time, with the seed's columns
``jit_strategy``, ``jit_generated_at`` and ``jit_input_snapshot``."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Boolean, Column, DateTime, String, Table
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from events import Context, TopicNames
from events.training import SessionJitGenerated
from projections.base import Applied
from projections.db import METADATA

__all__ = ["TRAINING_SESSIONS", "TrainingProjection"]

TRAINING_SESSIONS = Table(
    "training_sessions",
    METADATA,
    Column("session_id", String(128), primary_key=True),
    Column("lifter_id", String(128), nullable=False),
    Column("main_lift", String(128), nullable=False),
    Column("skip_main_lift", Boolean, nullable=False),
    Column("session", JSONB, nullable=False),  # warm-up, working sets, auxiliaries
    Column("rationale", JSONB, nullable=False),
    Column("confidence", String(8), nullable=False),
    Column("jit_strategy", String(32), nullable=False),
    Column("jit_generated_at", DateTime(timezone=True), nullable=False),
    Column("jit_input_snapshot", JSONB, nullable=False),
)


class TrainingProjection:
    name = "training"
    decodes = True
    tables = (TRAINING_SESSIONS,)
    volatile_columns: frozenset[str] = frozenset()
    partition_local = True  # keyed by session
    _types = frozenset({SessionJitGenerated.event_type})

    def topics(self, names: TopicNames) -> list[str]:
        return [names.domain(Context.TRAINING)]

    def wants(self, event_type: str | None) -> bool:
        return event_type in self._types

    async def apply(self, conn: AsyncConnection, batch: Sequence[Applied]) -> None:
        rows = {}
        for item in batch:
            ev = item.envelope
            p = ev.payload_as(SessionJitGenerated)
            rows[p.session_id] = {
                "session_id": p.session_id,
                "lifter_id": p.lifter_id,
                "main_lift": p.output.main_lift,
                "skip_main_lift": p.output.skip_main_lift,
                "session": p.output.model_dump(mode="json"),
                "rationale": list(p.rationale),
                "confidence": p.confidence,
                "jit_strategy": p.jit_strategy,
                "jit_generated_at": ev.occurred_at,
                "jit_input_snapshot": p.input_snapshot.model_dump(mode="json"),
            }
        if rows:
            stmt = insert(TRAINING_SESSIONS).values(list(rows.values()))
            # A session adjusted again (a new request) takes the latest adjustment.
            stmt = stmt.on_conflict_do_update(
                index_elements=["session_id"],
                set_={c: stmt.excluded[c] for c in next(iter(rows.values())) if c != "session_id"},
                where=TRAINING_SESSIONS.c.jit_generated_at <= stmt.excluded.jit_generated_at,
            )
            await conn.execute(stmt)
