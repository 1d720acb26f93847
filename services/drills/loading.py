"""Phase 1 of drill-batched-generation.md: load only the positions a request needs.

per-phase limit = min(ceil(targetDrillCount / phasesCount) + 2, maxPositionsPerPhase or 25);
OPENING always gives all 21 rolls in dice order; the other phases a seeded random
sample, so regenerating a series varies its positions. The context a request
sends is measured in tokens (JSON characters / 4, the usual estimate), against
the fixed maximum the seed started from: 25 positions of every requested phase,
96 at most. (The seed's own table counts all four phases for its multi-phase
examples; per requested phase is what its loader would read.)
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import orjson

from events.drills import GamePhase, SeededPosition

__all__ = [
    "DEFAULT_MAX_PER_PHASE",
    "DEFAULT_TARGET_DRILLS",
    "FIXED_MAXIMUM",
    "Loaded",
    "context_tokens",
    "load_positions",
    "positions_per_phase",
]

DEFAULT_TARGET_DRILLS = 21
DEFAULT_MAX_PER_PHASE = 25
FIXED_MAXIMUM = 96  # what was loaded before: 25 per phase, capped at 96 in all


def positions_per_phase(
    target_drills: int | None, phases_count: int, max_per_phase: int | None = None
) -> int:
    if phases_count < 1:
        raise ValueError("at least one game phase is needed")
    target = DEFAULT_TARGET_DRILLS if target_drills is None else target_drills
    if target < 1:
        raise ValueError(f"targetDrillCount must be at least 1, got {target}")
    return min(math.ceil(target / phases_count) + 2, max_per_phase or DEFAULT_MAX_PER_PHASE)


def context_tokens(positions: Sequence[SeededPosition]) -> int:
    """Tokens of the positions as a request carries them (JSON chars / 4)."""
    body = orjson.dumps([p.model_dump(mode="json") for p in positions])
    return math.ceil(len(body) / 4)


@dataclass(frozen=True)
class Loaded:
    positions: dict[GamePhase, list[SeededPosition]]
    limit: int
    tokens: int
    fixed_maximum_tokens: int

    @property
    def count(self) -> int:
        return sum(len(p) for p in self.positions.values())

    @property
    def savings(self) -> float:
        return 1 - self.tokens / self.fixed_maximum_tokens if self.fixed_maximum_tokens else 0.0


def load_positions(
    library: Mapping[GamePhase, Sequence[SeededPosition]],
    phases: Sequence[GamePhase],
    *,
    target_drills: int | None = None,
    max_per_phase: int | None = None,
    seed: int | None = None,
) -> Loaded:
    if not phases:
        raise ValueError("at least one game phase is needed")
    limit = positions_per_phase(target_drills, len(phases), max_per_phase)
    rng = random.Random(seed)
    chosen: dict[GamePhase, list[SeededPosition]] = {}
    for phase in dict.fromkeys(phases):
        available = list(library.get(phase, ()))
        if phase is GamePhase.OPENING:
            chosen[phase] = sorted(available, key=lambda p: (max(p.dice), min(p.dice)))
        else:
            chosen[phase] = rng.sample(available, min(limit, len(available)))
    fixed = [
        p for phase in dict.fromkeys(phases) for p in library.get(phase, ())[:DEFAULT_MAX_PER_PHASE]
    ][:FIXED_MAXIMUM]
    return Loaded(
        chosen,
        limit,
        context_tokens([p for ps in chosen.values() for p in ps]),
        context_tokens(fixed),
    )
