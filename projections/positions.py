"""positions: the backgammon position library, with the engine's ranked plays."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Column, DateTime, Index, Integer, String, Table, select
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from events.drills import GamePhase, PositionSeeded, SeededPosition
from projections.base import Applied, EventProjection
from projections.db import METADATA

__all__ = ["POSITIONS", "PositionsProjection", "library_of"]

POSITIONS = Table(
    "positions",
    METADATA,
    Column("engine_id", String(64), primary_key=True),
    Column("position_id", String(32), primary_key=True),
    Column("dice", String(3), primary_key=True),  # "3-1": the higher die first
    Column("phase", String(16), nullable=False),
    Column("ply", Integer, nullable=False),
    Column("candidate_moves", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("positions_phase_idx", "engine_id", "phase"),
)


class PositionsProjection(EventProjection):
    name = "positions"
    tables = (POSITIONS,)
    consumes = (PositionSeeded,)
    # keyed by position

    async def apply(self, conn: AsyncConnection, batch: Sequence[Applied]) -> None:
        rows = []
        for item in batch:
            p = item.envelope.payload_as(PositionSeeded)
            rows.append(
                {
                    "engine_id": p.engine_id,
                    "position_id": p.position_id,
                    "dice": f"{max(p.dice)}-{min(p.dice)}",
                    "phase": p.phase.value,
                    "ply": p.ply,
                    "candidate_moves": [m.model_dump(mode="json") for m in p.candidate_moves],
                    "created_at": p.created_at,
                }
            )
        if rows:
            await conn.execute(insert(POSITIONS).on_conflict_do_nothing(), rows)


async def library_of(
    conn: AsyncConnection, engine_id: str
) -> dict[GamePhase, list[SeededPosition]]:
    """The whole library of an engine, by phase, in a stable order."""
    c = POSITIONS.c
    stmt = (
        select(POSITIONS).where(c.engine_id == engine_id).order_by(c.phase, c.position_id, c.dice)
    )
    out: dict[GamePhase, list[SeededPosition]] = {}
    for r in await conn.execute(stmt):
        high, low = (int(d) for d in r.dice.split("-"))
        out.setdefault(GamePhase(r.phase), []).append(
            SeededPosition(
                position_id=r.position_id,
                dice=(high, low),
                phase=GamePhase(r.phase),
                candidate_moves=r.candidate_moves,
                created_at=r.created_at,
            )
        )
    return out
