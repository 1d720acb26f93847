"""Lessons context: the 10-phase lesson pipeline (sequential-lesson-generator.md).

Keyed by lesson, so a lesson's request, phases, scores and refinements stay in
order on one partition. The flow:

- ``lesson-requested`` carries the brief and the pack material the lesson is
  taught from, so the pipeline never reads anything but its own events;
- the pipeline saga asks for each phase with ``lesson-phase-requested`` (the
  outputs of the phases it reads travel in it) as soon as those have completed,
  and a phase worker answers with ``lesson-phase-completed``;
- the assembled lesson is scored (``lesson-scoring-requested`` ->
  ``lesson-scored``); below the threshold, Phase 10 asks for one whole-lesson
  rewrite (``lesson-rewrite-requested``); a candidate that passes the hard
  validators is proposed (``lesson-rewrite-proposed``) and re-scored, and
  ``lesson-refined`` records the verdict, accepted or rejected with why;
- ``lesson-improve-requested`` runs Phase 10 again on demand;
- ``lesson-completed`` closes the pipeline, ``lesson-failed`` stops it.

Lessons and phase outputs travel as JSON objects: their contract (block types,
orders, answer types) is checked by ``services.lessons``, whose validators must
be able to see a damaged lesson to reject it.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import Field, JsonValue, StringConstraints, model_validator

from events.catalog import event
from events.common import GenerationUsage, Identifier, Model
from events.content import Calculation, Fact, Procedure
from events.envelope import Payload
from events.topics import Context

__all__ = [
    "SCORE_CATEGORIES",
    "LessonCompleted",
    "LessonFailed",
    "LessonId",
    "LessonImproveRequested",
    "LessonMaterial",
    "LessonPhase",
    "LessonPhaseCompleted",
    "LessonPhaseRequested",
    "LessonRefined",
    "LessonRequested",
    "LessonRewriteProposed",
    "LessonRewriteRequested",
    "LessonScored",
    "LessonScoringRequested",
    "MaterialConcept",
    "PhaseStatus",
    "RefinementOutcome",
    "RefinementTrigger",
    "RewriteSettings",
    "ScoreCategory",
    "ScoreDetail",
    "ScoreReport",
    "ScoringPurpose",
    "SuggestedFix",
]

LessonId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$"),
]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=64)]
Short = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Lesson = dict[str, JsonValue]


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


# the brief and its material ----------------------------------------------------------
class MaterialConcept(Model):
    """A concept of a content pack, as the lesson is taught from it."""

    slug: Slug
    name: Short
    definition: str | None = Field(default=None, max_length=600)
    cluster_slug: Slug
    cluster_name: Short
    facts: list[Fact] = Field(default_factory=list, max_length=20)
    procedures: list[Procedure] = Field(default_factory=list, max_length=10)
    calculations: list[Calculation] = Field(default_factory=list)
    siblings: list[Slug] = Field(default_factory=list, max_length=20)


class LessonMaterial(Model):
    """What a lesson may teach: its focus concepts, related ones for contrast and
    distractors, and the prerequisites that spaced review revisits."""

    pack: Slug
    pack_title: Short
    focus: list[MaterialConcept] = Field(min_length=1, max_length=8)
    related: list[MaterialConcept] = Field(default_factory=list, max_length=12)
    prerequisites: list[MaterialConcept] = Field(default_factory=list, max_length=8)

    @model_validator(mode="after")
    def _distinct(self) -> Self:
        slugs = [c.slug for c in (*self.focus, *self.related)]
        if len(set(slugs)) != len(slugs):
            raise ValueError("a concept is either focus or related, once")
        return self


@event("lesson-requested", context=Context.LESSONS, key="lesson_id")
class LessonRequested(Payload):
    """An author asks for a lesson on a topic of a content pack.

    ``must_have_topics`` may carry teaching constraints ("what X is for, not
    how to use it", "no calculations", "only ..."), which planning parses and
    every later phase honours.
    """

    lesson_id: LessonId
    pack: Slug
    unit: Short
    topic: Short
    section: Short
    must_have_topics: list[Short] = Field(default_factory=list, max_length=12)
    prerequisites: list[Short] = Field(default_factory=list, max_length=8)
    strategy: Literal["rules", "llm", "auto"] = "auto"
    material: LessonMaterial

    @model_validator(mode="after")
    def _material(self) -> Self:
        if self.material.pack != self.pack:
            raise ValueError("material must come from the requested pack")
        if len(self.material.prerequisites) > len(self.prerequisites):
            raise ValueError("prerequisite material without a named prerequisite")
        return self


@event("lesson-phase-requested", context=Context.LESSONS, key="lesson_id")
class LessonPhaseRequested(Payload):
    """The pipeline asks for one phase; ``inputs`` holds the outputs of the phases it
    reads (by phase name), so a phase worker needs nothing but this event."""

    lesson_id: LessonId
    phase: LessonPhase
    strategy: Literal["rules", "llm", "auto"]
    brief: LessonRequested
    inputs: dict[str, dict[str, JsonValue]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.phase is LessonPhase.REWRITE:
            raise ValueError("phase 10 is asked for with lesson-rewrite-requested")
        if self.brief.lesson_id != self.lesson_id:
            raise ValueError("the brief must be this lesson's")
        unknown = set(self.inputs) - {p.value for p in LessonPhase}
        if unknown:
            raise ValueError(f"inputs must be keyed by phase, not {sorted(unknown)}")
        return self


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


@event("lesson-failed", context=Context.LESSONS, key="lesson_id")
class LessonFailed(Payload):
    """A phase could not make valid content with any strategy: the pipeline stops."""

    lesson_id: LessonId
    phase: LessonPhase
    reason: str = Field(min_length=1, max_length=2000)


# scoring -------------------------------------------------------------------------------
class ScoreCategory(StrEnum):
    SCHEMA_COMPLIANCE = "schemaCompliance"
    PEDAGOGY = "pedagogy"
    QUESTIONS = "questions"
    MARKING_ROBUSTNESS = "markingRobustness"
    VISUAL = "visual"
    SAFETY = "safety"


SCORE_CATEGORIES: dict[ScoreCategory, int] = {
    ScoreCategory.SCHEMA_COMPLIANCE: 15,
    ScoreCategory.PEDAGOGY: 30,
    ScoreCategory.QUESTIONS: 25,
    ScoreCategory.MARKING_ROBUSTNESS: 10,
    ScoreCategory.VISUAL: 5,
    ScoreCategory.SAFETY: 5,
}


class SuggestedFix(Model):
    """An exact change at a JSON path of the lesson (``blocks[4].content.questions[0].hint``).

    ``set`` replaces the value, ``append_text`` adds a paragraph to a string,
    ``append_item`` adds an element to a list.
    """

    path: str = Field(min_length=1, max_length=200)
    op: Literal["set", "append_text", "append_item"] = "set"
    value: JsonValue


class ScoreDetail(Model):
    """One checked aspect of the lesson, in the seed's shape, with the exact fixes."""

    section: str = Field(min_length=1, max_length=300)
    category: ScoreCategory
    score: float = Field(ge=0)
    max_score: float = Field(gt=0)
    issues: list[str] = Field(default_factory=list, max_length=40)
    suggestions: list[str] = Field(default_factory=list, max_length=40)
    fixes: list[SuggestedFix] = Field(default_factory=list, max_length=40)

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.score > self.max_score:
            raise ValueError("score must not exceed max_score")
        return self


class ScoreReport(Model):
    """A lesson's score: step 1 (structural errors, which end scoring at 0) or step 2
    (the six categories, capped when safety content is missing)."""

    total: float = Field(ge=0, le=100)
    grade: str = Field(min_length=1, max_length=40)
    categories: dict[ScoreCategory, float] = Field(default_factory=dict)
    details: list[ScoreDetail] = Field(default_factory=list, max_length=80)
    structural_errors: list[str] = Field(default_factory=list, max_length=100)
    safety_capped: bool = False
    method: Literal["rubric", "llm"] = "rubric"

    @model_validator(mode="after")
    def _check(self) -> Self:
        for category, value in self.categories.items():
            if value > SCORE_CATEGORIES[category]:
                raise ValueError(f"{category} scores at most {SCORE_CATEGORIES[category]}")
        if self.structural_errors and self.total != 0:
            raise ValueError("a lesson with structural errors scores 0")
        return self

    def top_issues(self, limit: int = 15) -> list[ScoreDetail]:
        """The details that lost the most points, most costly first."""
        lossy = [d for d in self.details if d.score < d.max_score]
        return sorted(lossy, key=lambda d: d.score - d.max_score)[:limit]


class ScoringPurpose(StrEnum):
    ORIGINAL = "original"  # the assembled lesson (or the current version, for improve)
    CANDIDATE = "candidate"  # a rewrite that passed the validators


@event("lesson-scoring-requested", context=Context.LESSONS, key="lesson_id")
class LessonScoringRequested(Payload):
    """Score one lesson version. A candidate is scored by the method that scored the
    original, without fallback, so the two scores compare."""

    lesson_id: LessonId
    purpose: ScoringPurpose
    refinement_id: uuid.UUID | None = None
    lesson: Lesson
    strategy: Literal["rules", "llm", "auto"]
    method: Literal["rubric", "llm"]
    temperature: float = Field(default=0.0, ge=0, le=2)
    max_tokens: int = Field(default=16000, ge=256, le=64000)

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.purpose is ScoringPurpose.CANDIDATE and self.refinement_id is None:
            raise ValueError("a candidate belongs to a refinement")
        return self


@event("lesson-scored", context=Context.LESSONS, key="lesson_id")
class LessonScored(Payload):
    """A lesson version's score, or why it could not be scored (``error``)."""

    lesson_id: LessonId
    purpose: ScoringPurpose
    refinement_id: uuid.UUID | None = None
    report: ScoreReport | None = None
    error: str | None = Field(default=None, max_length=2000)
    usage: GenerationUsage | None = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        if (self.report is None) == (self.error is None):
            raise ValueError("a score carries either its report or its error")
        return self


# Phase 10 ------------------------------------------------------------------------------
class RewriteSettings(Model):
    """The refinement configuration a rewrite ran under (the seed's keys)."""

    score_threshold: float = Field(default=97, ge=0, le=100)
    strategy: Literal["rewrite", "patch"] = "rewrite"
    max_fixes: int = Field(default=10, ge=1, le=100)
    save_original: bool = True
    auto_apply: bool = True
    shadow_mode: bool = False


class RefinementTrigger(StrEnum):
    AUTO = "auto"  # the pipeline's own Phase 10, below the threshold
    IMPROVE = "improve"  # improve-lesson on demand


@event("lesson-rewrite-requested", context=Context.LESSONS, key="lesson_id")
class LessonRewriteRequested(Payload):
    """Phase 10: rewrite the whole lesson once, guided by its scoring report."""

    lesson_id: LessonId
    refinement_id: uuid.UUID
    trigger: RefinementTrigger
    lesson: Lesson
    report: ScoreReport
    strategy: Literal["rules", "llm", "auto"]
    settings: RewriteSettings


@event("lesson-rewrite-proposed", context=Context.LESSONS, key="lesson_id")
class LessonRewriteProposed(Payload):
    """A rewrite that passed all three validator layers, waiting for its score."""

    lesson_id: LessonId
    refinement_id: uuid.UUID
    candidate: Lesson
    changes: list[str] = Field(default_factory=list, max_length=60)
    usage: GenerationUsage | None = None


class RefinementOutcome(StrEnum):
    ACCEPTED = "accepted"
    REJECTED_PARSE = "rejected_parse"
    REJECTED_VALIDATION = "rejected_validation"
    REJECTED_SCORE = "rejected_score"
    UNCHANGED = "unchanged"  # the rewrite proposed no change
    FAILED = "failed"  # the rewrite or the scoring could not run; the original stands


@event("lesson-refined", context=Context.LESSONS, key="lesson_id")
class LessonRefined(Payload):
    """Phase 10's verdict. Anything but ``accepted`` keeps the original and says why;
    an accepted candidate becomes the lesson's next version unless the rewrite ran
    in shadow mode or without auto-apply."""

    lesson_id: LessonId
    refinement_id: uuid.UUID
    trigger: RefinementTrigger
    outcome: RefinementOutcome
    reason: str = Field(min_length=1, max_length=2000)
    validation_failures: list[str] = Field(default_factory=list, max_length=200)
    original_score: float | None = Field(default=None, ge=0, le=100)
    candidate_score: float | None = Field(default=None, ge=0, le=100)
    candidate: Lesson | None = None
    candidate_report: ScoreReport | None = None
    applied: bool = False
    shadow: bool = False
    save_original: bool = True
    version: int | None = Field(default=None, ge=2, description="the version it became")
    usage: GenerationUsage | None = None

    @model_validator(mode="after")
    def _check(self) -> Self:
        accepted = self.outcome is RefinementOutcome.ACCEPTED
        if self.applied and not accepted:
            raise ValueError("only an accepted candidate is applied")
        if self.applied and (self.candidate is None or self.version is None):
            raise ValueError("an applied candidate carries the lesson and its version")
        if self.applied and self.shadow:
            raise ValueError("shadow mode never applies")
        if self.outcome is RefinementOutcome.REJECTED_VALIDATION and not self.validation_failures:
            raise ValueError("a validation rejection lists its failures")
        return self

    @property
    def final_score(self) -> float | None:
        return self.candidate_score if self.applied else self.original_score


@event("lesson-improve-requested", context=Context.LESSONS, key="lesson_id")
class LessonImproveRequested(Payload):
    """Run Phase 10 v2 on an existing lesson now (the seed's improve-lesson)."""

    lesson_id: LessonId
    request_id: uuid.UUID
    strategy: Literal["rules", "llm", "auto"] | None = None


@event("lesson-completed", context=Context.LESSONS, key="lesson_id")
class LessonCompleted(Payload):
    """The pipeline is done: the lesson's current version and its score."""

    lesson_id: LessonId
    version: int = Field(ge=1)
    score: float = Field(ge=0, le=100)
    refined: bool
