"""The position library: what the drills are drawn from, with gnubg's ground truth.

OPENING is the 21 distinct rolls from the starting position, in dice order.
EARLY, MIDDLE and BEAROFF come from engine self-play, from the point of view
of the player on roll: EARLY is the first 10 half-moves after the opening
roll, BEAROFF has every checker of the player on roll in its home board, and
MIDDLE is the rest. Positions are sampled (seeded) from many games and each
kept one is analysed at 2-ply for its ranked plays.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from events import Envelope
from events.drills import GamePhase, PositionSeeded
from services.drills.engine import OPENING_POSITION, BackgammonEngine, PlayedPosition

__all__ = ["EARLY_PLIES", "OPENING_ROLLS", "build_library", "phase_of", "seeded_events"]

EARLY_PLIES = 10
OPENING_ROLLS: list[tuple[int, int]] = [(a, b) for a in range(1, 7) for b in range(1, a + 1)]
_NS = uuid.UUID("9a3f5e1c-7b2d-4c68-8e0f-1d2c3b4a5f60")

Progress = Callable[[int, int], None]


def phase_of(p: PlayedPosition) -> GamePhase | None:
    """None for the opening position itself (OPENING comes from the 21 rolls)."""
    if p.position_id == OPENING_POSITION:
        return None
    if p.bearoff:
        return GamePhase.BEAROFF
    return GamePhase.EARLY if p.ply <= EARLY_PLIES else GamePhase.MIDDLE


async def build_library(
    engine: BackgammonEngine,
    *,
    per_phase: int = 25,
    seed: int = 7,
    max_games: int = 40,
    progress: Progress | None = None,
) -> list[PositionSeeded]:
    """``per_phase`` positions of every self-play phase plus the 21 opening rolls."""
    rng = random.Random(seed)
    pools: dict[GamePhase, dict[tuple[str, tuple[int, int]], PlayedPosition]] = {
        phase: {} for phase in GamePhase if phase is not GamePhase.OPENING
    }
    games = 0
    while games < max_games and any(len(p) < per_phase * 3 for p in pools.values()):
        for played in await engine.self_play(seed * 1000 + games, 1):
            phase = phase_of(played)
            if phase is not None and played.choices >= 2:
                roll = (max(played.dice), min(played.dice))  # 5-2 and 2-5 are one roll
                pools[phase].setdefault((played.position_id, roll), played)
        games += 1
    chosen: list[tuple[GamePhase, PlayedPosition]] = [
        (GamePhase.OPENING, PlayedPosition(OPENING_POSITION, roll, 0, False))
        for roll in OPENING_ROLLS
    ]
    for phase, pool in pools.items():
        keys = sorted(pool)  # a stable order, then a seeded sample
        chosen += [(phase, pool[k]) for k in rng.sample(keys, min(per_phase, len(keys)))]
    done = 0
    now = datetime.now(UTC)

    async def analysed(phase: GamePhase, p: PlayedPosition) -> PositionSeeded:
        nonlocal done
        roll = (max(p.dice), min(p.dice))
        moves = await engine.analyse(p.position_id, roll)
        done += 1
        if progress is not None:
            progress(done, len(chosen))
        return PositionSeeded(
            engine_id=engine.name,
            position_id=p.position_id,
            dice=roll,
            phase=phase,
            candidate_moves=moves,
            created_at=now,
            ply=p.ply,
        )

    return list(await asyncio.gather(*(analysed(ph, p) for ph, p in chosen)))


def seeded_events(positions: list[PositionSeeded]) -> list[Envelope]:
    """Events with ids from engine, position and roll: seeding again is a no-op."""
    return [
        Envelope.new(
            p,
            source="positions-seed",
            event_id=uuid.uuid5(_NS, f"{p.engine_id}:{p.position_id}:{p.dice[0]}-{p.dice[1]}"),
        )
        for p in positions
    ]
