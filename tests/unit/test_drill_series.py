"""Phase 2's pure parts (batches and the series' outcome) and the rules drill maker."""

from __future__ import annotations

import pytest

from events.drills import CandidateMove, Drill, GamePhase, Principle
from services.drills.drills import check, make_drill, principle_of
from services.drills.principles import Teaching
from services.drills.principles_pack import shipped_principles
from services.drills.series import outcome, plan_batches
from tests.support.drills import MOVES, library

pytestmark = pytest.mark.unit

POSITIONS = library()[GamePhase.MIDDLE]


def test_25_drills_make_5_batches_of_5_with_their_own_positions() -> None:
    plans = plan_batches(POSITIONS, 25)
    assert [p.batch_index for p in plans] == [0, 1, 2, 3, 4]
    assert [p.drill_indices for p in plans][1] == [5, 6, 7, 8, 9]
    assert all(len(p.drill_indices) == len(p.positions) == 5 for p in plans)
    assert [pos.position_id for p in plans for pos in p.positions] == [
        p.position_id for p in POSITIONS
    ]


def test_uneven_and_small_series() -> None:
    plans = plan_batches(POSITIONS[:4], 12, batch_size=5)
    assert [len(p.drill_indices) for p in plans] == [5, 5, 2]
    assert plans[2].positions == [POSITIONS[10 % 4], POSITIONS[11 % 4]]  # cycled
    for bad in ((POSITIONS, 0, 5), (POSITIONS, -1, 5), (POSITIONS, 5, 0), ([], 5, 5)):
        with pytest.raises(ValueError):
            plan_batches(*bad)  # type: ignore[arg-type]


def test_all_batches_ok_completes() -> None:
    assert outcome(5, dict.fromkeys(range(5), True), deadline_passed=False) == (
        outcome(5, dict.fromkeys(range(5), True), deadline_passed=True)
    )
    done = outcome(5, dict.fromkeys(range(5), True), deadline_passed=False)
    assert done is not None and done.status == "COMPLETED" and done.warning is None


def test_one_batch_failing_completes_with_a_warning() -> None:
    results = {0: True, 1: True, 2: False, 3: True, 4: True}
    done = outcome(5, results, deadline_passed=False)
    assert done is not None and done.status == "COMPLETED" and done.failed == [2]
    assert done.warning == "batches [2] failed"


def test_waiting_until_every_batch_or_the_deadline() -> None:
    assert outcome(5, {0: True, 1: True}, deadline_passed=False) is None
    late = outcome(5, {0: True, 1: True}, deadline_passed=True)
    assert late is not None and late.status == "COMPLETED" and late.failed == [2, 3, 4]
    assert "3 not finished by the deadline" in (late.warning or "")


def test_all_failed_or_none_by_the_deadline_fails() -> None:
    failed = outcome(3, dict.fromkeys(range(3), False), deadline_passed=False)
    assert (
        failed is not None and failed.status == "FAILED" and failed.warning == "every batch failed"
    )
    timed_out = outcome(3, {}, deadline_passed=True)
    assert timed_out is not None and timed_out.status == "FAILED"
    assert timed_out.warning == "no batch finished before the deadline"


def test_a_drill_keys_the_engines_best_play_and_explains_the_others() -> None:
    drill = make_drill(POSITIONS[0], 7, seed="series-1")
    assert drill.best_move == "8/5 6/5" and drill.options[drill.answer_index] == "8/5 6/5"
    assert sorted(drill.options) == sorted(m.move for m in MOVES[:4])
    assert drill.explanations[0].startswith("24/23 13/10 gives up 0.050 equity")
    assert drill.principle is Principle.POINT_MAKING and drill.index == 7
    assert check(drill, MOVES) == []
    again = make_drill(POSITIONS[0], 7, seed="series-1")
    assert again == drill  # deterministic for a series


def test_the_rules_explanations_cite_the_principles_definition() -> None:
    pack = shipped_principles()
    drill = make_drill(POSITIONS[0], 0)
    definition = pack.entry("point-making").definition
    assert len(drill.explanations) == 3
    for why in drill.explanations:
        assert why.endswith(f"8/5 6/5 shows point-making: {definition}")
    # The series' own teaching is what gets cited.
    own = pack.teaching([GamePhase.MIDDLE])
    edited = Teaching(
        own.pack,
        tuple(
            p.model_copy(update={"definition": "Two checkers or more on one point: it is yours."})
            if p.slug == "point-making"
            else p
            for p in own.principles
        ),
        own.stages,
    )
    cited = make_drill(POSITIONS[0], 0, teaching=edited)
    assert cited.explanations[0].endswith(
        "point-making: Two checkers or more on one point: it is yours."
    )
    # A teaching without the tag (an older batch context) falls back to the shipped pack.
    bare = Teaching(own.pack, (), own.stages)
    assert make_drill(POSITIONS[0], 0, teaching=bare).explanations == drill.explanations


def test_a_drill_that_disagrees_with_the_engine_fails_verification() -> None:
    drill = make_drill(POSITIONS[0], 0)
    wrong = Drill.model_validate(
        {
            **drill.model_dump(),
            "best_move": "13/9",
            "options": ["13/9", "8/5 6/5"],
            "answer_index": 0,
        }
    )
    assert "the engine's best is '8/5 6/5'" in check(wrong, MOVES)[0]
    other = next(i for i in range(len(drill.options)) if i != drill.answer_index)
    options = [("1/off" if i == other else o) for i, o in enumerate(drill.options)]
    invented = Drill.model_validate({**drill.model_dump(), "options": options})
    assert any("not a legal play" in p for p in check(invented, MOVES))


@pytest.mark.parametrize(
    ("move", "principle"),
    [
        ("8/5 6/5", Principle.POINT_MAKING),
        ("24/13", Principle.RUNNING),
        ("24/23 13/10", Principle.SPLITTING),
        ("13/7* 8/7", Principle.HITTING),
        ("bar/22 13/11", Principle.ENTERING),
        ("6/off 5/off", Principle.BEARING_OFF),
        ("13/10 13/11", Principle.BUILDING),
        ("6/5(2) 8/7(2)", Principle.POINT_MAKING),
    ],
)
def test_principles(move: str, principle: Principle) -> None:
    assert principle_of(move) is principle


def test_forced_plays_make_no_drill() -> None:
    single = POSITIONS[0].model_copy(
        update={"candidate_moves": [CandidateMove(rank=1, move="6/1", equity=0.1, equity_loss=0)]}
    )
    with pytest.raises(ValueError, match="at least 2"):
        make_drill(single, 0)
