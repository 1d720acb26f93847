"""The phases' dependency graph: which outputs each phase reads.

A phase may start as soon as every phase it reads has completed (or was
skipped), so independent phases run side by side:

    planning
    ├── vocabulary ─┬── explanation ─┬── understanding checks
    │               │                ├── integration
    │               └── worked example ┴── practice (reads the explanation too)
    └── spaced review
    assembler: after all eight

That is five model-latency steps for phases 1-9 where the seed's sequence
takes nine.
"""

from __future__ import annotations

from collections.abc import Collection

from events.lessons import LessonPhase

__all__ = ["PIPELINE", "READS", "critical_path", "layers", "ready"]

P = LessonPhase
PIPELINE: tuple[LessonPhase, ...] = tuple(p for p in LessonPhase if p is not P.REWRITE)

READS: dict[LessonPhase, frozenset[LessonPhase]] = {
    P.PLANNING: frozenset(),
    P.VOCABULARY: frozenset({P.PLANNING}),
    P.EXPLANATION: frozenset({P.PLANNING, P.VOCABULARY}),
    P.UNDERSTANDING_CHECKS: frozenset({P.PLANNING, P.VOCABULARY, P.EXPLANATION}),
    P.WORKED_EXAMPLE: frozenset({P.PLANNING, P.VOCABULARY}),
    P.PRACTICE: frozenset({P.PLANNING, P.VOCABULARY, P.EXPLANATION, P.WORKED_EXAMPLE}),
    P.INTEGRATION: frozenset({P.PLANNING, P.VOCABULARY, P.EXPLANATION}),
    P.SPACED_REVIEW: frozenset({P.PLANNING}),
    P.ASSEMBLER: frozenset(PIPELINE) - {P.ASSEMBLER},
}


def ready(done: Collection[LessonPhase], started: Collection[LessonPhase]) -> list[LessonPhase]:
    """Phases not started yet whose inputs are all done, in pipeline order."""
    return [p for p in PIPELINE if p not in started and p not in done and READS[p] <= set(done)]


def layers() -> list[list[LessonPhase]]:
    """The phases grouped by when they can start if every phase takes the same time."""
    done: set[LessonPhase] = set()
    out: list[list[LessonPhase]] = []
    while len(done) < len(PIPELINE):
        layer = ready(done, ())
        out.append(layer)
        done |= set(layer)
    return out


def critical_path() -> int:
    """Phases on the longest chain: the pipeline's wall time in phase durations."""
    return len(layers())
