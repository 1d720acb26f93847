"""GNU Backgammon as ground truth: known plays, a pool that survives crashed and hung
engines, self-play phases, and the position library."""

from __future__ import annotations

import os
import signal
from collections.abc import AsyncIterator

import pytest

from events.drills import GamePhase
from services.drills.drills import check, make_drill
from services.drills.engine import OPENING_POSITION, EngineError, GnubgEngine
from services.drills.library import OPENING_ROLLS, build_library, phase_of, seeded_events

pytestmark = pytest.mark.integration


@pytest.fixture
async def gnubg() -> AsyncIterator[GnubgEngine]:
    async with GnubgEngine(size=2, timeout_s=20) as engine:
        yield engine


@pytest.mark.parametrize(
    ("dice", "best"),
    [
        ((3, 1), "8/5 6/5"),
        ((4, 2), "8/4 6/4"),
        ((6, 5), "24/13"),
        ((5, 3), "8/3 6/3"),
        ((6, 1), "13/7 8/7"),
    ],
)
async def test_known_opening_plays(gnubg: GnubgEngine, dice: tuple[int, int], best: str) -> None:
    moves = await gnubg.analyse(OPENING_POSITION, dice)
    assert moves[0].move == best and moves[0].equity_loss == 0.0
    losses = [m.equity_loss for m in moves]
    assert losses == sorted(losses) and len(moves) == 5 and losses[-1] > 0


async def test_a_crashed_engine_is_restarted_and_the_call_retried(gnubg: GnubgEngine) -> None:
    await gnubg.analyse(OPENING_POSITION, (3, 1))
    before = {w.proc.pid for w in gnubg._workers if w.proc is not None}
    for pid in before:
        os.kill(pid, signal.SIGKILL)
    moves = await gnubg.analyse(OPENING_POSITION, (3, 1))
    after = {w.proc.pid for w in gnubg._workers if w.proc is not None}
    assert moves[0].move == "8/5 6/5" and after - before  # a fresh engine answered


async def test_a_hung_engine_is_restarted_and_the_call_retried() -> None:
    async with GnubgEngine(size=1, timeout_s=2.0) as engine:
        await engine.analyse(OPENING_POSITION, (3, 1))
        (worker,) = engine._workers
        assert worker.proc is not None
        os.kill(worker.proc.pid, signal.SIGSTOP)  # alive, answering nothing
        moves = await engine.analyse(OPENING_POSITION, (4, 2))
    assert moves[0].move == "8/4 6/4" and engine.restarts == 1


def test_a_missing_engine_is_a_clear_error() -> None:
    with pytest.raises(EngineError, match="install GNU Backgammon"):
        GnubgEngine(binary="/usr/games/no-such-gnubg")


async def test_self_play_reaches_every_phase_and_the_library_is_built(gnubg: GnubgEngine) -> None:
    played = await gnubg.self_play(seed=5, games=2)
    phases = {phase_of(p) for p in played}
    assert {GamePhase.EARLY, GamePhase.MIDDLE, GamePhase.BEAROFF} <= phases

    library = await build_library(gnubg, per_phase=3, seed=3, max_games=4)
    by_phase = {ph: [p for p in library if p.phase is ph] for ph in GamePhase}
    assert [p.dice for p in by_phase[GamePhase.OPENING]] == OPENING_ROLLS
    assert all(len(by_phase[ph]) == 3 for ph in GamePhase if ph is not GamePhase.OPENING)
    assert all(p.candidate_moves and p.candidate_moves[0].equity_loss == 0 for p in library)
    assert all(max(p.dice) == p.dice[0] for p in library)
    ids = [e.event_id for e in seeded_events(library)]
    assert ids == [e.event_id for e in seeded_events(library)] and len(set(ids)) == len(ids)

    # A drill from every position, verified against a fresh analysis by the engine.
    for i, position in enumerate(library):
        drill = make_drill(position.seeded(), i, seed="verify")
        truth = await gnubg.analyse(position.position_id, position.dice)
        assert check(drill, truth) == [], (position.position_id, position.dice)
