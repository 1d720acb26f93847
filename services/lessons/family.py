"""The lessons family: ten phases as a saga, an llm judge, a guarded whole-lesson rewrite."""

from __future__ import annotations

from typing import Any

import structlog

from events.lessons import (
    LessonCompleted,
    LessonFailed,
    LessonImproveRequested,
    LessonPhase,
    LessonPhaseCompleted,
    LessonPhaseRequested,
    LessonRefined,
    LessonRequested,
    LessonRewriteProposed,
    LessonRewriteRequested,
    LessonScored,
    LessonScoringRequested,
)
from services.runtime.family import AgentSpec, Deps, FamilySpec

__all__ = ["FAMILY"]

log = structlog.get_logger(__name__)


def _settings(deps: Deps) -> Any:
    from services.lessons.settings import LessonSettings

    return deps.settings.section(LessonSettings)


def _phases(deps: Deps) -> Any:
    from projections.lessons import phase_completed
    from services.lessons.agents import PhaseWorker

    engine = deps.read_engine()

    async def completed(lesson_id: str, phase: LessonPhase) -> bool:
        # A request redelivered after its completion was published makes no model call.
        # The read model only saves work: before the projector has made its tables (a
        # fresh stack) the phase is made, not dead-lettered.
        from sqlalchemy.exc import ProgrammingError

        try:
            async with engine.connect() as conn:
                return await phase_completed(conn, lesson_id, phase.value)
        except ProgrammingError as exc:
            if "does not exist" not in str(exc):
                raise
            log.warning("lessons.read_model_missing", lesson=lesson_id, phase=phase.value)
            return False

    return PhaseWorker(
        deps.gateway(), concurrency=_settings(deps).phase_concurrency, completed=completed
    )


def _scorer(deps: Deps) -> Any:
    from services.lessons.agents import LessonScorer

    return LessonScorer(deps.gateway())


def _rewriter(deps: Deps) -> Any:
    from services.lessons.agents import LessonRewriter

    return LessonRewriter(deps.gateway())


def _saga(deps: Deps) -> Any:
    from services.lessons.saga import LessonPipelineSaga

    return LessonPipelineSaga(_settings(deps))


FAMILY = FamilySpec(
    name="lessons",
    summary="lessons in 10 phases: a saga runs independent phases side by side, an llm "
    "judge scores, one guarded whole-lesson rewrite below 97",
    agents=(
        AgentSpec(
            "lesson-phases",
            "lesson-phase-requested -> the phase's output (rules | llm), or lesson-failed",
            consumes=(LessonPhaseRequested,),
            produces=(LessonPhaseCompleted, LessonFailed),
            runner="faust",
            build=_phases,
        ),
        AgentSpec(
            "lesson-scorer",
            "lesson-scoring-requested -> lesson-scored (structure, then six categories)",
            consumes=(LessonScoringRequested,),
            produces=(LessonScored,),
            runner="faust",
            build=_scorer,
        ),
        AgentSpec(
            "lesson-rewriter",
            "lesson-rewrite-requested -> one rewrite through three validator layers: "
            "lesson-rewrite-proposed, or lesson-refined saying why the original stands",
            consumes=(LessonRewriteRequested,),
            produces=(LessonRewriteProposed, LessonRefined),
            runner="faust",
            build=_rewriter,
        ),
        AgentSpec(
            "lesson-pipeline",
            "saga: phases as soon as their inputs are done, scoring, Phase 10 and its "
            "score gate, improve-lesson -> lesson-completed",
            consumes=(
                LessonRequested,
                LessonPhaseCompleted,
                LessonScored,
                LessonRewriteProposed,
                LessonRefined,
                LessonImproveRequested,
                LessonFailed,
            ),
            produces=(
                LessonPhaseRequested,
                LessonPhaseCompleted,
                LessonScoringRequested,
                LessonRewriteRequested,
                LessonRefined,
                LessonFailed,
                LessonCompleted,
            ),
            runner="faust",
            build=_saga,
            saga=True,
        ),
    ),
    read_models=("projections.lessons:LessonsProjection",),
    router="services.lessons.api:router",
    cli={"lessons": "services.lessons.cli:lessons_app"},
    strategies=(
        "services.lessons.phases.planning:PLANNING",
        "services.lessons.phases.vocabulary:VOCABULARY",
        "services.lessons.phases.explanation:EXPLANATION",
        "services.lessons.phases.checks:UNDERSTANDING_CHECKS",
        "services.lessons.phases.worked_example:WORKED_EXAMPLE",
        "services.lessons.phases.practice:PRACTICE",
        "services.lessons.phases.integration:INTEGRATION",
        "services.lessons.phases.spaced_review:SPACED_REVIEW",
        "services.lessons.phases.assembler:ASSEMBLER",
        "services.lessons.scoring.llm:SCORING",
    ),
    inputs=(LessonRequested, LessonImproveRequested),
    # Lessons travel in the events as JSON; their contract gets a schema of its own.
    models={"Lesson v1": "services.lessons.contract:Lesson"},
)
