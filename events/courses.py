"""Courses context: best-of-K course candidates (course-candidate-generation.md).

Keyed by the course request, so all candidates of one request stay in order.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Self

from pydantic import Field, model_validator

from events.catalog import event
from events.common import GenerationUsage, Model
from events.envelope import Payload
from events.topics import Context

__all__ = [
    "SCORE_WEIGHTS",
    "CandidateScored",
    "PedagogicalApproach",
    "ScoreBreakdown",
    "SelfReview",
]

# The seed's weights for the deterministic candidate score.
SCORE_WEIGHTS: dict[str, float] = {
    "schema_validity": 0.30,
    "placeholders": 0.20,
    "mode_constraints": 0.20,
    "consistency": 0.15,
    "self_review": 0.15,
}


class PedagogicalApproach(StrEnum):
    """The diversity constraint each candidate is prompted with."""

    FORMAL_ACADEMIC = "formal_academic"
    CONVERSATIONAL = "conversational"
    VISUAL_STORY = "visual_story"


class ScoreBreakdown(Model):
    """Each check scored 0-1; the total weighs them by ``SCORE_WEIGHTS``."""

    schema_validity: float = Field(ge=0, le=1)
    placeholders: float = Field(ge=0, le=1)
    mode_constraints: float = Field(ge=0, le=1)
    consistency: float = Field(ge=0, le=1)
    self_review: float = Field(ge=0, le=1)

    def weighted_total(self) -> float:
        return float(sum(getattr(self, name) * w for name, w in SCORE_WEIGHTS.items()))


class SelfReview(Model):
    """The LLM critique of a candidate, each 0-1."""

    clarity: float = Field(ge=0, le=1)
    age_fit: float = Field(ge=0, le=1)
    correctness: float = Field(ge=0, le=1)


@event("candidate-scored", context=Context.COURSES, key="course_id")
class CandidateScored(Payload):
    """One of K course candidates was generated, self-reviewed and scored."""

    course_id: uuid.UUID
    candidate_index: int = Field(ge=0)
    candidate_count: int = Field(ge=1, le=10)
    score: float = Field(ge=0, le=1)
    breakdown: ScoreBreakdown
    self_review: SelfReview | None = None
    issues: list[str] = Field(default_factory=list, max_length=200)
    approach: PedagogicalApproach
    temperature: float = Field(ge=0, le=2)
    seed: int
    item_count: int = Field(ge=0)
    usage: GenerationUsage | None = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.candidate_index >= self.candidate_count:
            raise ValueError("candidate_index must be below candidate_count")
        if abs(self.breakdown.weighted_total() - self.score) > 1e-6:
            raise ValueError("score must equal the weighted total of the breakdown")
        return self
