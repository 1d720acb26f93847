"""The lesson agents, behind the common handler contract (each returns every event it emits).

- ``PhaseWorker`` (faust, several phases at once): ``lesson-phase-requested`` ->
  the phase's output in ``lesson-phase-completed``, or ``lesson-failed`` when
  no strategy can make valid content. With ``completed`` it first asks whether
  the phase already has its completion (a redelivery after a crash between
  publish and commit) and then makes nothing: no completed phase is repeated.
- ``LessonScorer``: ``lesson-scoring-requested`` -> ``lesson-scored``. The
  original falls back to the rubric when the llm scorer fails; a candidate is
  scored by the original's method without fallback, and a failure is reported.
- ``LessonRewriter``: ``lesson-rewrite-requested`` -> the rewrite, through the
  three validator layers: ``lesson-rewrite-proposed`` for a candidate to score,
  else ``lesson-refined`` saying why the original stands.
- The pipeline itself is ``services.lessons.saga.LessonPipelineSaga``.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence

import structlog

from events import Envelope
from events.lessons import (
    LessonFailed,
    LessonPhase,
    LessonPhaseCompleted,
    LessonPhaseRequested,
    LessonRefined,
    LessonRewriteProposed,
    LessonRewriteRequested,
    LessonScored,
    LessonScoringRequested,
    PhaseStatus,
    RefinementOutcome,
    ScoringPurpose,
)
from services.bus.consumer import Delivery
from services.generation import Gateway, GenerationError
from services.lessons.phases import PhaseContext, PhaseError, run_phase
from services.lessons.refine.gate import judge_rewrite
from services.lessons.refine.rewrite import rewrite
from services.lessons.scoring.llm import SCORING, ScoringInput, score
from services.lessons.usage import spent_usage

__all__ = ["Completed", "LessonRewriter", "LessonScorer", "PhaseWorker"]

log = structlog.get_logger(__name__)

Completed = Callable[[str, LessonPhase], Awaitable[bool]]


class PhaseWorker:
    name = "lesson-phases"
    event_types: frozenset[str] | None = frozenset({LessonPhaseRequested.event_type})

    def __init__(
        self, gateway: Gateway, *, concurrency: int = 8, completed: Completed | None = None
    ) -> None:
        self.gateway = gateway
        self.concurrency = concurrency
        self.completed = completed

    async def handle(self, event: Envelope, delivery: Delivery) -> Sequence[Envelope]:
        r = event.payload_as(LessonPhaseRequested)
        if self.completed is not None and await self.completed(r.lesson_id, r.phase):
            log.info("lessons.phase_already_completed", lesson=r.lesson_id, phase=r.phase.value)
            return ()
        started = time.perf_counter()
        try:
            ctx = PhaseContext.from_inputs(r.brief, r.inputs)
            made = await run_phase(r.phase, ctx, strategy=r.strategy, gateway=self.gateway)
        except PhaseError as exc:
            failed = LessonFailed(lesson_id=r.lesson_id, phase=r.phase, reason=str(exc)[:2000])
            return (event.derive(failed, role="failed", source=self.name),)
        completed = LessonPhaseCompleted(
            lesson_id=r.lesson_id,
            phase=r.phase,
            status=PhaseStatus.COMPLETED,
            output=made.value.model_dump(mode="json", by_alias=True, exclude_none=True),
            duration_ms=round((time.perf_counter() - started) * 1000),
            usage=made.usage,
        )
        return (event.derive(completed, role="completed", source=self.name),)


class LessonScorer:
    name = "lesson-scorer"
    event_types: frozenset[str] | None = frozenset({LessonScoringRequested.event_type})

    def __init__(self, gateway: Gateway, *, concurrency: int = 4) -> None:
        self.gateway = gateway
        self.concurrency = concurrency

    async def handle(self, event: Envelope, delivery: Delivery) -> Sequence[Envelope]:
        r = event.payload_as(LessonScoringRequested)
        value = ScoringInput(r.lesson, temperature=r.temperature, max_tokens=r.max_tokens)
        candidate = r.purpose is ScoringPurpose.CANDIDATE
        try:
            made = await score(
                value,
                method=r.method,
                strategy=r.strategy,
                gateway=self.gateway,
                fallback=not candidate,
            )
        except GenerationError as exc:
            scored = LessonScored(
                lesson_id=r.lesson_id,
                purpose=r.purpose,
                refinement_id=r.refinement_id,
                error=f"{exc.reason}: {exc.args[0]}"[:2000],
                usage=spent_usage(exc, family=SCORING.name, gateway=self.gateway),
            )
        else:
            scored = LessonScored(
                lesson_id=r.lesson_id,
                purpose=r.purpose,
                refinement_id=r.refinement_id,
                report=made.value,
                usage=made.usage,
            )
        return (event.derive(scored, role="scored", source=self.name),)


class LessonRewriter:
    name = "lesson-rewriter"
    event_types: frozenset[str] | None = frozenset({LessonRewriteRequested.event_type})

    def __init__(self, gateway: Gateway, *, concurrency: int = 4) -> None:
        self.gateway = gateway
        self.concurrency = concurrency

    async def handle(self, event: Envelope, delivery: Delivery) -> Sequence[Envelope]:
        r = event.payload_as(LessonRewriteRequested)
        result = await rewrite(
            r.lesson, r.report, settings=r.settings, strategy=r.strategy, gateway=self.gateway
        )
        verdict = judge_rewrite(r.lesson, result, r.report.total)
        if verdict.outcome is RefinementOutcome.ACCEPTED and verdict.candidate is not None:
            proposed = LessonRewriteProposed(
                lesson_id=r.lesson_id,
                refinement_id=r.refinement_id,
                candidate=verdict.candidate,
                changes=verdict.changes[:60],
                usage=verdict.usage,
            )
            return (event.derive(proposed, role="proposed", source=self.name),)
        log.info(
            "lessons.rewrite_rejected",
            lesson=r.lesson_id,
            outcome=verdict.outcome.value,
            reason=verdict.reason,
        )
        refined = LessonRefined(
            lesson_id=r.lesson_id,
            refinement_id=r.refinement_id,
            trigger=r.trigger,
            outcome=verdict.outcome,
            reason=verdict.reason[:2000],
            validation_failures=verdict.validation_failures[:200],
            original_score=r.report.total,
            save_original=r.settings.save_original,
            usage=verdict.usage,
        )
        return (event.derive(refined, role="refined", source=self.name),)
