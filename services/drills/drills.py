"""The rules strategy for drills: a best-play question per library position.

Options are gnubg's ranked plays for the position and roll (the best and up to
three alternatives, in a seeded order); the key is gnubg's best play; the
principle is read from the shape of the best play; each alternative is explained
by the equity it gives up and the definition of the principle the best play
shows, as the series' teaching (the principles pack) defines it. ``check``
verifies a drill against the ground truth, whoever wrote its prose.
"""

from __future__ import annotations

import random
import re

from events.drills import CandidateMove, Drill, Principle, SeededPosition
from services.drills.principles import PrincipleEntry, Teaching

__all__ = ["check", "make_drill", "principle_of"]

_STEP = re.compile(r"(bar|\d+)/(off|\d+)(\*?)(?:\((\d)\))?")


def principle_of(move: str) -> Principle:
    steps = _STEP.findall(move)
    if any(dest == "off" for _, dest, _, _ in steps):
        return Principle.BEARING_OFF
    if any(src == "bar" for src, _, _, _ in steps):
        return Principle.ENTERING
    if any(hit for _, _, hit, _ in steps):
        return Principle.HITTING
    landings: dict[str, int] = {}
    for _, dest, _, times in steps:
        landings[dest] = landings.get(dest, 0) + int(times or 1)
    if any(n >= 2 for n in landings.values()):
        return Principle.POINT_MAKING
    if any(src == "24" for src, _, _, _ in steps):
        moved = [int(s) - int(d) for s, d, _, _ in steps if s == "24" and d.isdigit()]
        return Principle.RUNNING if any(m >= 6 for m in moved) else Principle.SPLITTING
    return Principle.BUILDING


def make_drill(
    position: SeededPosition, index: int, *, seed: str = "", teaching: Teaching | None = None
) -> Drill:
    """``teaching`` defaults to the shipped principles pack."""
    plays = position.candidate_moves[:4]
    best = plays[0]
    principle = principle_of(best.move)
    entry = _entry(principle, teaching)
    options = [m.move for m in plays]
    random.Random(f"{seed}:{position.position_id}:{position.dice}:{index}").shuffle(options)
    high, low = max(position.dice), min(position.dice)
    return Drill(
        index=index,
        position_id=position.position_id,
        dice=(high, low),
        phase=position.phase,
        question=(
            f"{position.phase.value.title()} position {position.position_id}, you rolled "
            f"{high}-{low}. What is the best play?"
        ),
        options=options,
        answer_index=options.index(best.move),
        best_move=best.move,
        explanations=[_why(m, best, entry) for m in plays[1:]],
        principle=principle,
    )


def _entry(principle: Principle, teaching: Teaching | None) -> PrincipleEntry:
    found = teaching.entry(principle.value) if teaching is not None else None
    if found is None:  # a context without it (older batches): the shipped pack has every tag
        from services.drills.principles_pack import shipped_principles

        found = shipped_principles().entry(principle.value)
    return found


def _why(move: CandidateMove, best: CandidateMove, principle: PrincipleEntry) -> str:
    # Each explanation stands alone: an app shows the one for the option the learner chose.
    return (
        f"{move.move} gives up {move.equity_loss:.3f} equity against {best.move} "
        f"({move.equity:+.3f} vs {best.equity:+.3f}). {best.move} shows "
        f"{principle.name.lower()}: {principle.definition}"
    )


def check(drill: Drill, truth: list[CandidateMove]) -> list[str]:
    """What disagrees with the engine's ranking of the drill's position and roll."""
    if not truth:
        return [f"drill {drill.index}: the engine has no play for this position"]
    problems = []
    if drill.best_move != truth[0].move:
        problems.append(
            f"drill {drill.index}: keyed {drill.best_move!r}, the engine's best is "
            f"{truth[0].move!r}"
        )
    known = {m.move for m in truth}
    problems += [
        f"drill {drill.index}: option {o!r} is not a legal play the engine ranked"
        for o in drill.options
        if o not in known
    ]
    return problems
