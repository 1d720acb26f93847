"""Lessons context: the 10-phase sequential lesson pipeline (sequential-lesson-generator.md).

Keyed by lesson, so a lesson's phases stay in order.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Self

from pydantic import Field, JsonValue, model_validator

from events.catalog import event
from events.common import GenerationUsage, Identifier
from events.envelope import Payload
from events.topics import Context

__all__ = ["LessonPhase", "LessonPhaseCompleted", "PhaseStatus"]


class LessonPhase(StrEnum):
    PLANNING = "planning"
    VOCABULARY = "vocabulary"
    EXPLANATION = "explanation"
    UNDERSTANDING_CHECKS = "understanding_checks"
    WORKED_EXAMPLE = "worked_example"
    PRACTICE = "practice"
    INTEGRATION = "integration"
    SPACED_REVIEW = "spaced_review"
    ASSEMBLER = "assembler"
    REWRITE = "rewrite"

    @property
    def number(self) -> int:
        """1-10, the phase's place in the pipeline."""
        return list(LessonPhase).index(self) + 1


class PhaseStatus(StrEnum):
    COMPLETED = "completed"
    SKIPPED = "skipped"


@event("lesson-phase-completed", context=Context.LESSONS, key="lesson_id")
class LessonPhaseCompleted(Payload):
    """One phase of the lesson pipeline finished (or was skipped) with its output.

    Phase 5 (worked example) is skipped when planning decided none is needed;
    phase 10 (rewrite) only runs when the score is below the threshold.
    """

    lesson_id: Identifier
    phase: LessonPhase
    status: PhaseStatus
    output: dict[str, JsonValue] = Field(default_factory=dict)
    skipped_reason: str | None = Field(default=None, max_length=500)
    duration_ms: int = Field(ge=0)
    usage: GenerationUsage | None = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.status is PhaseStatus.SKIPPED and not self.skipped_reason:
            raise ValueError("a skipped phase must say why")
        if self.status is PhaseStatus.COMPLETED and not self.output:
            raise ValueError("a completed phase must carry its output")
        return self
