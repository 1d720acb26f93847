"""training_sessions: each session as adjusted just in time, with the seed's columns
``jit_strategy``, ``jit_generated_at`` and ``jit_input_snapshot``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Boolean, Column, DateTime, String, Table, select
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from events.training import SessionJitGenerated
from projections.base import Applied, EventProjection
from projections.db import METADATA
from services.settings import Latency

__all__ = ["TRAINING_SESSIONS", "TrainingProjection", "TrainingSessionView", "session_of"]

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


class TrainingProjection(EventProjection):
    name = "training"
    tables = (TRAINING_SESSIONS,)
    consumes = (SessionJitGenerated,)
    latency = Latency.INTERACTIVE  # today's session, which the athlete waits for
    # keyed by session

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


# queries ----------------------------------------------------------------------------------
class TrainingSessionView(BaseModel):
    session_id: str
    lifter_id: str
    main_lift: str
    skip_main_lift: bool
    session: dict[str, Any]
    rationale: list[str]
    confidence: str
    jit_strategy: str
    jit_generated_at: datetime
    jit_input_snapshot: dict[str, Any]


async def session_of(conn: AsyncConnection, session_id: str) -> TrainingSessionView | None:
    row = (
        await conn.execute(
            select(TRAINING_SESSIONS).where(TRAINING_SESSIONS.c.session_id == session_id)
        )
    ).first()
    return None if row is None else TrainingSessionView.model_validate(row._mapping)
