"""The lesson pipeline's state, derived from the lesson's events only (see ``saga``),
and the events that conclude a refinement, built from it."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, JsonValue

from events.common import GenerationUsage
from events.lessons import (
    LessonCompleted,
    LessonPhase,
    LessonPhaseCompleted,
    LessonRefined,
    LessonRequested,
    LessonScored,
    PhaseStatus,
    RefinementOutcome,
    RefinementTrigger,
    RewriteSettings,
    ScoreReport,
)
from services.lessons.refine.gate import Refinement, gate
from services.runtime.saga import SagaState

__all__ = ["LessonState", "PendingRefinement", "conclusion", "refinement_id", "verdict_of"]

P = LessonPhase
_NS = uuid.UUID("0f6f5a4e-9d8c-4c1b-8f0e-4b7d2e6a9c31")


def refinement_id(lesson_id: str, version: int) -> uuid.UUID:
    """The automatic refinement of a lesson's version (one per version, ever)."""
    return uuid.uuid5(_NS, f"{lesson_id}:auto:{version}")


class PendingRefinement(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refinement_id: uuid.UUID
    trigger: RefinementTrigger
    settings: RewriteSettings
    original_score: float
    candidate: dict[str, JsonValue] | None = None
    changes: list[str] = []
    usage: GenerationUsage | None = None


class LessonState(SagaState):
    brief: LessonRequested
    done: dict[str, dict[str, JsonValue]] = {}  # phase -> output
    skipped: dict[str, str] = {}  # phase -> why
    started: list[str] = []  # phases asked for, in order
    lesson: dict[str, JsonValue] | None = None  # the current version
    version: int = 0
    report: ScoreReport | None = None  # the current version's score
    pending: PendingRefinement | None = None
    concluded: bool = False
    failed: str | None = None

    def finished_phases(self) -> set[LessonPhase]:
        return {P(p) for p in (*self.done, *self.skipped)}


def verdict_of(
    state: LessonState, pending: PendingRefinement, scored: LessonScored
) -> LessonRefined:
    """The score gate's verdict on a pending refinement's candidate, as its event."""
    proposal = Refinement(
        RefinementOutcome.ACCEPTED,
        "passed the three validator layers",
        original_score=pending.original_score,
        candidate=pending.candidate,
        changes=pending.changes,
        usage=pending.usage,
    )
    verdict = gate(proposal, scored.report, pending.settings, scoring_error=scored.error)
    return LessonRefined(
        lesson_id=state.instance_id,
        refinement_id=pending.refinement_id,
        trigger=pending.trigger,
        outcome=verdict.outcome,
        reason=verdict.reason[:2000],
        original_score=verdict.original_score,
        candidate_score=verdict.candidate_score,
        candidate=verdict.candidate,
        candidate_report=verdict.candidate_report,
        applied=verdict.applied,
        shadow=verdict.shadow,
        save_original=pending.settings.save_original,
        version=state.version + 1 if verdict.applied else None,
        # The rewrite's usage is in its proposal, the candidate's score in its own event.
        usage=None,
    )


def conclusion(
    after: LessonState, p: LessonRefined, rewrite: GenerationUsage | None
) -> tuple[LessonPhaseCompleted, LessonCompleted]:
    """Phase 10's record and the pipeline's end, once the automatic refinement is decided.

    ``rewrite`` is the rewrite's usage, shown in the record's output: the event that
    carried it already counted it, so the record's own ``usage`` stays empty."""
    output: dict[str, JsonValue] = {
        "refinementId": str(p.refinement_id),
        "outcome": p.outcome.value,
        "reason": p.reason,
        "originalScore": p.original_score,
        "candidateScore": p.candidate_score,
        "applied": p.applied,
        "shadow": p.shadow,
        "validationFailures": list(p.validation_failures),
    }
    if rewrite is not None:
        output["usage"] = rewrite.model_dump(mode="json")
    phase = LessonPhaseCompleted(
        lesson_id=after.instance_id,
        phase=P.REWRITE,
        status=PhaseStatus.COMPLETED,
        output=output,
        duration_ms=round(rewrite.latency_ms) if rewrite else 0,
    )
    score = after.report.total if after.report else (p.original_score or 0.0)
    done = LessonCompleted(
        lesson_id=after.instance_id, version=after.version, score=score, refined=p.applied
    )
    return phase, done
