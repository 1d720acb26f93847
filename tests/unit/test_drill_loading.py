"""Phase 1 (dynamic position loading): the limit, OPENING, sampling variety, token savings."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from events.drills import GamePhase
from services.drills.library import OPENING_ROLLS
from services.drills.loading import load_positions, positions_per_phase
from tests.support.drills import library

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 22, tzinfo=UTC)


@pytest.mark.parametrize(
    ("drills", "phases", "cap", "limit"),
    [
        (20, 2, None, 12),
        (10, 1, None, 12),
        (30, 3, None, 12),
        (None, 1, None, 23),
        (100, 1, None, 25),
        (100, 2, 40, 40),
        (20, 2, 5, 5),
        (1, 4, None, 3),
    ],
)
def test_the_per_phase_limit(drills: int | None, phases: int, cap: int | None, limit: int) -> None:
    assert positions_per_phase(drills, phases, cap) == limit


@pytest.mark.parametrize(("drills", "phases"), [(0, 1), (-3, 2), (5, 0)])
def test_bad_counts_are_refused(drills: int, phases: int) -> None:
    with pytest.raises(ValueError, match="at least"):
        positions_per_phase(drills, phases)


def test_opening_always_gives_all_21_in_dice_order() -> None:
    loaded = load_positions(library(), [GamePhase.OPENING], target_drills=5, seed=1)
    rolls = [p.dice for p in loaded.positions[GamePhase.OPENING]]
    assert len(rolls) == 21 and rolls == sorted(OPENING_ROLLS)
    again = load_positions(library(), [GamePhase.OPENING], target_drills=5, seed=2)
    assert [p.dice for p in again.positions[GamePhase.OPENING]] == rolls  # never shuffled


def test_other_phases_are_sampled_for_variety_across_regenerations() -> None:
    picks = [
        [
            p.position_id
            for p in load_positions(
                library(), [GamePhase.MIDDLE], target_drills=10, seed=s
            ).positions[GamePhase.MIDDLE]
        ]
        for s in range(5)
    ]
    assert all(len(p) == 12 for p in picks)
    assert len({tuple(p) for p in picks}) == 5  # every regeneration differs
    same = load_positions(library(), [GamePhase.MIDDLE], target_drills=10, seed=3)
    assert [p.position_id for p in same.positions[GamePhase.MIDDLE]] == picks[3]


@pytest.mark.parametrize(
    ("drills", "phases", "count", "at_least"),
    [
        # 24 of 50, 12 of 25 and 36 of 75 positions: about half (the seed: 51 % and up)
        (20, [GamePhase.EARLY, GamePhase.MIDDLE], 24, 0.50),
        (10, [GamePhase.MIDDLE], 12, 0.50),
        (30, [GamePhase.EARLY, GamePhase.MIDDLE, GamePhase.BEAROFF], 36, 0.50),
    ],
)
def test_the_seeds_examples_save_tokens(
    drills: int, phases: list[GamePhase], count: int, at_least: float
) -> None:
    loaded = load_positions(library(), phases, target_drills=drills, seed=7)
    assert loaded.count == count
    assert loaded.tokens < loaded.fixed_maximum_tokens
    assert loaded.savings >= at_least
