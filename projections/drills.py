"""Drill series read models: ``drill_series`` (status and progress) and ``drills``.

A series is PENDING when asked for, GENERATING once its batches are out, and
COMPLETED or FAILED when the fan-in finishes it; ``completed_batches`` and
``drills_generated`` rise with every batch ("Generated X/Y drills"). Each drill
row appears PENDING with its batch and position when the batch is requested, is
GENERATING once a worker took the batch, and turns COMPLETED (with its content)
or FAILED when the batch reports.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    String,
    Table,
    Text,
    Uuid,
    cast,
    literal,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from events.drills import (
    BatchCompleted,
    BatchRequested,
    BatchStarted,
    DrillSeriesCompleted,
    DrillSeriesRequested,
)
from projections.base import Applied, EventProjection
from projections.db import METADATA

__all__ = [
    "DRILLS",
    "DRILL_SERIES",
    "DrillsProjection",
    "SeriesView",
    "recent_series",
    "series_of",
]

DRILL_SERIES = Table(
    "drill_series",
    METADATA,
    Column("artifact_id", Uuid, primary_key=True),
    Column("project_id", String(128), nullable=False),
    Column("status", String(16), nullable=False),
    Column("target_drills", Integer, nullable=False),
    Column("total_batches", Integer),
    Column("completed_batches", Integer, nullable=False, server_default="0"),
    Column("failed_batches", JSONB, nullable=False, server_default="[]"),
    Column("drills_generated", Integer, nullable=False, server_default="0"),
    # Phase 1: the positions' context each batch request carries, against the fixed maximum.
    Column("context_tokens", Integer),
    Column("fixed_maximum_tokens", Integer),
    Column("warning", Text),
    Column("disagreements", JSONB, nullable=False, server_default="[]"),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
)

DRILLS = Table(
    "drills",
    METADATA,
    Column("artifact_id", Uuid, primary_key=True),
    Column("index", Integer, primary_key=True),
    Column("batch_index", Integer, nullable=False),
    Column("batch_status", String(16), nullable=False),  # PENDING, GENERATING, COMPLETED, FAILED
    Column("position_id", String(32), nullable=False),
    Column("dice", String(3), nullable=False),
    Column("phase", String(16), nullable=False),
    Column("drill", JSONB),  # the drill, once generated
    Column("error", Text),
)


class DrillsProjection(EventProjection):
    name = "drills"
    tables = (DRILL_SERIES, DRILLS)
    consumes = (
        DrillSeriesRequested,
        BatchRequested,
        BatchStarted,
        BatchCompleted,
        DrillSeriesCompleted,
    )
    # everything of a series is keyed by its artifact

    async def apply(self, conn: AsyncConnection, batch: Sequence[Applied]) -> None:
        # Events of one series arrive in order; apply them one by one (series are few
        # and small). A redelivered event writes the same values again.
        s, d = DRILL_SERIES.c, DRILLS.c
        for item in batch:
            ev = item.envelope
            p = ev.payload
            if isinstance(p, DrillSeriesRequested):
                await conn.execute(
                    insert(DRILL_SERIES)
                    .values(
                        artifact_id=p.artifact_id,
                        project_id=p.project_id,
                        status="PENDING",
                        target_drills=p.target_drill_count,
                        requested_at=ev.occurred_at,
                    )
                    .on_conflict_do_nothing()
                )
            elif isinstance(p, BatchRequested):
                await conn.execute(
                    DRILL_SERIES.update()
                    .where(s.artifact_id == p.artifact_id, s.status == "PENDING")
                    .values(
                        status="GENERATING",
                        total_batches=p.total_batches,
                        context_tokens=p.context.curriculum.get("context_tokens"),
                        fixed_maximum_tokens=p.context.curriculum.get("fixed_maximum_tokens"),
                    )
                )
                rows: list[dict[str, Any]] = [
                    {
                        "artifact_id": p.artifact_id,
                        "index": i,
                        "batch_index": p.batch_index,
                        "batch_status": "PENDING",
                        "position_id": pos.position_id,
                        "dice": f"{max(pos.dice)}-{min(pos.dice)}",
                        "phase": pos.phase.value,
                    }
                    for i, pos in zip(p.drill_indices, p.positions, strict=False)
                ]
                await conn.execute(insert(DRILLS).on_conflict_do_nothing(), rows)
            elif isinstance(p, BatchStarted):
                await conn.execute(
                    DRILLS.update()
                    .where(
                        d.artifact_id == p.artifact_id,
                        d.batch_index == p.batch_index,
                        d.batch_status == "PENDING",
                    )
                    .values(batch_status="GENERATING")
                )
            elif isinstance(p, BatchCompleted):
                pending = (d.artifact_id == p.artifact_id) & (d.batch_index == p.batch_index)
                fresh = await conn.execute(
                    DRILLS.update()
                    .where(pending, d.batch_status.in_(("PENDING", "GENERATING")))
                    .values(batch_status="COMPLETED" if p.success else "FAILED", error=p.error)
                    .returning(d.index)
                )
                if not fresh.first():
                    continue  # already applied (a redelivered completion)
                for drill in p.drills:
                    await conn.execute(
                        DRILLS.update()
                        .where(d.artifact_id == p.artifact_id, d.index == drill.index)
                        .values(drill=drill.model_dump(mode="json"))
                    )
                failed = cast(literal("[]" if p.success else f"[{p.batch_index}]"), JSONB)
                await conn.execute(
                    DRILL_SERIES.update()
                    .where(s.artifact_id == p.artifact_id)
                    .values(
                        completed_batches=s.completed_batches + (1 if p.success else 0),
                        drills_generated=s.drills_generated + p.drills_generated,
                        failed_batches=s.failed_batches.op("||")(failed),
                    )
                )
            elif isinstance(p, DrillSeriesCompleted):
                await conn.execute(
                    DRILL_SERIES.update()
                    .where(s.artifact_id == p.artifact_id)
                    .values(
                        status=p.status.value,
                        warning=p.warning,
                        finished_at=ev.occurred_at,
                        disagreements=list(p.disagreements),
                    )
                )


class SeriesView(BaseModel):
    artifact_id: uuid.UUID
    project_id: str
    status: str
    target_drills: int
    total_batches: int | None
    completed_batches: int
    failed_batches: list[int]
    drills_generated: int
    context_tokens: int | None
    fixed_maximum_tokens: int | None
    warning: str | None
    disagreements: list[str]
    requested_at: datetime
    finished_at: datetime | None
    drills: list[dict[str, Any]] = []

    @property
    def progress(self) -> str:
        """The seed's progress line: "Generated 15/25 drills (Batch 3/5)", batches reported."""
        done = f"Generated {self.drills_generated}/{self.target_drills} drills"
        if self.total_batches is None:
            return f"{done} (batches not planned yet)"
        reported = self.completed_batches + len(self.failed_batches)
        return f"{done} (Batch {reported}/{self.total_batches})"


async def series_of(conn: AsyncConnection, artifact_id: uuid.UUID) -> SeriesView | None:
    """A series with its drills ordered by index (None when unknown)."""
    s, d = DRILL_SERIES.c, DRILLS.c
    row = (await conn.execute(select(DRILL_SERIES).where(s.artifact_id == artifact_id))).first()
    if row is None:
        return None
    drills = await conn.execute(
        select(DRILLS).where(d.artifact_id == artifact_id).order_by(d.index)
    )
    view = SeriesView.model_validate(row._mapping)
    view.drills = [{k: v for k, v in r._mapping.items() if k != "artifact_id"} for r in drills]
    return view


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
