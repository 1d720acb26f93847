"""Courses context: best-of-K course candidates (course-candidate-generation.md).

Keyed by the course, so a course's request, its candidates and its outcome stay
in order on one partition. The flow:

- ``course-requested`` (API or CLI) asks for a worksheet course;
- the orchestrator fans it out as ``course-candidate-requested``, one per
  candidate, each with its own diversity constraint (K on the candidate path,
  one on the single path);
- a generator answers with ``course-candidate-generated`` (or
  ``course-candidate-failed``); a reviewer self-reviews and scores it alone and
  publishes ``candidate-scored`` carrying the candidate (on the single path a
  candidate below the bar is asked for again, guided by its failed checks);
- the fan-in saga waits for K or the deadline and finishes the course with
  ``course-selected``, ``course-needs-attention`` or ``course-failed``.

A candidate travels as a ``CourseDraft`` (types only), so a damaged candidate
can still be scored; ``Course`` is Course v2, the contract a valid course meets.
"""

from __future__ import annotations

import re
import uuid
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import AwareDatetime, BeforeValidator, Field, model_validator

from events.catalog import event
from events.common import GenerationUsage, Model
from events.envelope import Payload
from events.topics import Context

__all__ = [
    "MIN_REAL_CONTENT",
    "PLACEHOLDER",
    "SCORE_WEIGHTS",
    "AttentionDetails",
    "CandidatePlan",
    "CandidateScored",
    "Course",
    "CourseCandidateFailed",
    "CourseCandidateGenerated",
    "CourseCandidateRequested",
    "CourseDraft",
    "CourseFailed",
    "CourseGroup",
    "CourseItem",
    "CourseNeedsAttention",
    "CourseRequested",
    "CourseSelected",
    "CourseSpec",
    "Diversity",
    "DraftGroup",
    "DraftItem",
    "ItemMode",
    "JobSummary",
    "Method",
    "PedagogicalApproach",
    "ScoreBreakdown",
    "SelfReview",
    "SimilarityPair",
    "Strategy",
    "mode_problems",
    "placeholder_problems",
]

# The seed's weights for the deterministic candidate score.
SCORE_WEIGHTS: dict[str, float] = {
    "schema_validity": 0.30,
    "placeholders": 0.20,
    "mode_constraints": 0.20,
    "consistency": 0.15,
    "self_review": 0.15,
}

# ``[blank]``, or a run of underscores standing alone (not inside an identifier).
PLACEHOLDER = re.compile(r"\[blank\]|(?<!\w)_+(?!\w)")
MIN_REAL_CONTENT = 3  # characters of an item's text besides its placeholder

Strategy = Literal["rules", "llm", "auto"]
Method = Literal["candidates", "single"]


class PedagogicalApproach(StrEnum):
    """The diversity constraint each candidate is prompted with."""

    FORMAL_ACADEMIC = "formal_academic"
    CONVERSATIONAL = "conversational"
    VISUAL_STORY = "visual_story"


class ItemMode(StrEnum):
    OPTIONS = "options"  # 3-4 options and a correct index
    NUMERIC = "numeric"  # a numeric answer, no options


def placeholder_problems(text: str) -> list[str]:
    """Why ``text`` is not an item text with exactly one placeholder and real content."""
    found = len(PLACEHOLDER.findall(text))
    problems = []
    if found != 1:
        problems.append(f"needs exactly one placeholder ([blank] or _), found {found}")
    real = len("".join(PLACEHOLDER.sub("", text).split()))
    if real < MIN_REAL_CONTENT:
        problems.append(
            f"only {real} character(s) of real content besides the placeholder "
            f"(at least {MIN_REAL_CONTENT})"
        )
    return problems


def mode_problems(
    mode: str | None, options: list[str] | None, correct_index: int | None, answer: str | None
) -> list[str]:
    """Why an item breaks its mode's constraints (options: 3-4 options and a valid index;
    numeric: an answer and no options)."""
    if mode == ItemMode.OPTIONS:
        problems = []
        n = len(options or [])
        if not 3 <= n <= 4:
            problems.append(f"options mode needs 3-4 options, has {n}")
        if correct_index is None:
            problems.append("options mode needs a correct_index")
        elif not 0 <= correct_index < n:
            problems.append(f"correct_index {correct_index} does not point at one of {n} options")
        if answer is not None:
            problems.append("options mode takes no separate answer")
        return problems
    if mode == ItemMode.NUMERIC:
        problems = []
        if answer is None or not answer.strip():
            problems.append("numeric mode needs an answer")
        if options:
            problems.append(f"numeric mode takes no options, has {len(options)}")
        if correct_index is not None:
            problems.append("numeric mode takes no correct_index")
        return problems
    return [f"unknown mode {mode!r} (options or numeric)"]


class CourseSpec(Model):
    """What was asked for: the worksheet's subject, grade and shape."""

    subject: str = Field(min_length=1, max_length=80, description="e.g. math, ccna")
    grade: int = Field(ge=1, le=12, description="school grade 1-12")
    topic: str | None = Field(default=None, min_length=1, max_length=120)
    groups: int = Field(default=3, ge=1, le=10)
    items_per_group: int = Field(default=5, ge=1, le=20, description="the seed's itemsPerGroup")
    modes: list[ItemMode] = Field(
        default_factory=lambda: [ItemMode.OPTIONS, ItemMode.NUMERIC], min_length=1, max_length=2
    )

    @model_validator(mode="after")
    def _distinct_modes(self) -> Self:
        if len(set(self.modes)) != len(self.modes):
            raise ValueError("modes must be distinct")
        return self


# Course v2 -------------------------------------------------------------------------------
OptionText = Annotated[str, Field(min_length=1, max_length=160)]


class CourseItem(Model):
    """One worksheet item: a text with exactly one placeholder, in one of two modes."""

    text: str = Field(min_length=1, max_length=500)
    mode: ItemMode
    options: list[OptionText] | None = Field(default=None, max_length=4)
    correct_index: int | None = Field(default=None, description="the seed's correctIndex")
    answer: str | None = Field(default=None, min_length=1, max_length=40)
    expression: str | None = Field(
        default=None, max_length=120, description="the arithmetic the item asks for, if any"
    )
    explanation: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _check(self) -> Self:
        problems = placeholder_problems(self.text) + mode_problems(
            self.mode, self.options, self.correct_index, self.answer
        )
        if self.options and len({o.strip().casefold() for o in self.options}) != len(self.options):
            problems.append("options must be distinct")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class CourseGroup(Model):
    title: str = Field(min_length=1, max_length=200)
    items: list[CourseItem] = Field(min_length=1, max_length=20)


class Course(Model):
    """Course v2: a worksheet course, groups of items for one subject and grade."""

    title: str = Field(min_length=1, max_length=200)
    subject: str = Field(min_length=1, max_length=80)
    grade: int = Field(ge=1, le=12)
    topic: str | None = Field(default=None, max_length=120)
    groups: list[CourseGroup] = Field(min_length=1, max_length=10)


# Candidates as generated: the types of Course v2 without its rules ------------------------
def _text_of_number(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


class DraftItem(Model):
    text: str | None = Field(default=None, max_length=1000)
    mode: str | None = Field(default=None, max_length=40, description="options or numeric")
    options: list[Annotated[str, Field(max_length=300)]] | None = Field(default=None, max_length=12)
    correct_index: int | None = None
    answer: Annotated[str | None, BeforeValidator(_text_of_number)] = Field(
        default=None, max_length=60
    )
    expression: str | None = Field(default=None, max_length=200)
    explanation: str | None = Field(default=None, max_length=1000)


class DraftGroup(Model):
    title: str | None = Field(default=None, max_length=200)
    items: list[DraftItem] = Field(default_factory=list, max_length=40)


class CourseDraft(Model):
    """A candidate course as a generator made it; scored against Course v2, never repaired."""

    title: str | None = Field(default=None, max_length=200)
    groups: list[DraftGroup] = Field(default_factory=list, max_length=12)

    def items(self) -> list[tuple[str, DraftItem]]:
        """Every item with its name in deductions: ``g2.i3`` is group 2's third item."""
        return [
            (f"g{g}.i{i}", item)
            for g, group in enumerate(self.groups, start=1)
            for i, item in enumerate(group.items, start=1)
        ]

    def course(self, spec: CourseSpec) -> Course:
        """The draft as Course v2; raises ``pydantic.ValidationError`` when it is not one."""
        return Course.model_validate(
            {
                "title": self.title,
                "subject": spec.subject,
                "grade": spec.grade,
                "topic": spec.topic,
                "groups": [g.model_dump(exclude_none=True) for g in self.groups],
            }
        )


# Scores ------------------------------------------------------------------------------------
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
    """The critique of a candidate, each 0-1."""

    clarity: float = Field(ge=0, le=1)
    age_fit: float = Field(ge=0, le=1)
    correctness: float = Field(ge=0, le=1)

    def overall(self) -> float:
        return (self.clarity + self.age_fit + self.correctness) / 3


class Diversity(Model):
    """A candidate's diversity constraint: approach, temperature, seed and style hints."""

    approach: PedagogicalApproach
    temperature: float = Field(ge=0, le=1)
    seed: int = Field(ge=0, lt=2**31)
    style_hints: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=6
    )


class CandidatePlan(Model):
    """Everything one candidate's generation, review and scoring needs, decided once by
    the orchestrator from the request and the settings."""

    candidate_index: int = Field(ge=0)
    candidate_count: int = Field(ge=1, le=10)
    attempt: int = Field(default=0, ge=0, le=5, description="improvement attempt (single path)")
    method: Method
    spec: CourseSpec
    diversity: Diversity
    strategy: Strategy
    retry_limit: int = Field(ge=0, le=5, description="QUALITY_RETRY_LIMIT (0 on candidates)")
    min_viable_score: float = Field(ge=0, le=1)
    review_threshold: float = Field(ge=0, le=1)
    skip_review: bool
    requested_at: AwareDatetime
    deadline_at: AwareDatetime
    guidance: list[Annotated[str, Field(max_length=300)]] = Field(
        default_factory=list, max_length=30, description="failed checks of the previous attempt"
    )
    previous: CourseDraft | None = Field(default=None, description="the attempt being improved")

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.candidate_index >= self.candidate_count:
            raise ValueError("candidate_index must be below candidate_count")
        if self.method == "candidates" and self.retry_limit:
            raise ValueError("the candidate path makes no improvement attempts (retry_limit 0)")
        if self.method == "single" and self.candidate_count != 1:
            raise ValueError("the single path has one candidate")
        if self.attempt > self.retry_limit:
            raise ValueError("attempt must not exceed retry_limit")
        return self


class SimilarityPair(Model):
    a: int = Field(ge=0)
    b: int = Field(ge=0)
    cosine: float = Field(ge=0, le=1)


class JobSummary(Model):
    """The seed's job summary."""

    method: Method
    candidate_count: int = Field(ge=1, le=10)
    selected_index: int | None = None
    selected_score: float | None = Field(default=None, ge=0, le=1)
    min_viable_score: float = Field(ge=0, le=1)
    total_tokens: int = Field(ge=0)
    latency_ms: int = Field(ge=0)


class AttentionDetails(Model):
    """The details of a 422 ``needs_attention`` answer (see ``CourseNeedsAttention.body``)."""

    max_score: float = Field(ge=0, le=1)
    min_viable_score: float = Field(ge=0, le=1)
    candidate_count: int = Field(ge=1, le=10)
    scores: list[float] = Field(max_length=10, description="the scored candidates, by index")
    selected_index: int | None = None
    review_score: float | None = Field(default=None, ge=0, le=1)
    review_threshold: float | None = Field(default=None, ge=0, le=1)


# Events ------------------------------------------------------------------------------------
@event("course-requested", context=Context.COURSES, key="course_id")
class CourseRequested(Payload):
    """An author asks for a worksheet course.

    ``use_candidates`` and ``candidate_count`` left out take the settings
    (``USE_CANDIDATES``, ``CANDIDATE_COUNT``); a ``candidate_count`` alone asks
    for the candidate path.
    """

    course_id: uuid.UUID
    subject: str = Field(min_length=1, max_length=80)
    grade: int = Field(ge=1, le=12)
    topic: str | None = Field(default=None, min_length=1, max_length=120)
    groups: int = Field(default=3, ge=1, le=10)
    items_per_group: int = Field(default=5, ge=1, le=20)
    modes: list[ItemMode] = Field(
        default_factory=lambda: [ItemMode.OPTIONS, ItemMode.NUMERIC], min_length=1, max_length=2
    )
    candidate_count: int | None = Field(default=None, ge=1, le=10)
    use_candidates: bool | None = None
    strategy: Strategy | None = None
    deadline_s: float | None = Field(default=None, gt=0, le=3600)

    @model_validator(mode="after")
    def _distinct_modes(self) -> Self:
        if len(set(self.modes)) != len(self.modes):
            raise ValueError("modes must be distinct")
        return self

    def spec(self) -> CourseSpec:
        return CourseSpec(
            subject=self.subject,
            grade=self.grade,
            topic=self.topic,
            groups=self.groups,
            items_per_group=self.items_per_group,
            modes=self.modes,
        )


@event("course-candidate-requested", context=Context.COURSES, key="course_id")
class CourseCandidateRequested(Payload):
    """The orchestrator (or, for an improvement attempt, the reviewer) asks for one candidate."""

    course_id: uuid.UUID
    plan: CandidatePlan


@event("course-candidate-generated", context=Context.COURSES, key="course_id")
class CourseCandidateGenerated(Payload):
    """A generator made a candidate; it is reviewed and scored next."""

    course_id: uuid.UUID
    plan: CandidatePlan
    course: CourseDraft
    usage: GenerationUsage


@event("candidate-scored", context=Context.COURSES, key="course_id")
class CandidateScored(Payload):
    """One of K course candidates was generated, self-reviewed and scored, alone.

    ``usage`` is the self-review's; the generation's is on
    ``course-candidate-generated`` (``generation_tokens`` repeats its tokens).
    ``final`` is False when the single path asks for an improvement attempt.
    """

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
    course: CourseDraft
    valid: bool = Field(description="the candidate is a valid Course v2")
    attempt: int = Field(default=0, ge=0, le=5)
    final: bool = True
    strategy: str = Field(default="rules", max_length=64, description="what made the candidate")
    generation_tokens: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.candidate_index >= self.candidate_count:
            raise ValueError("candidate_index must be below candidate_count")
        if abs(self.breakdown.weighted_total() - self.score) > 1e-6:
            raise ValueError("score must equal the weighted total of the breakdown")
        return self


@event("course-candidate-failed", context=Context.COURSES, key="course_id")
class CourseCandidateFailed(Payload):
    """A candidate could not be made (timeout, bad output, no source); the others go on."""

    course_id: uuid.UUID
    candidate_index: int = Field(ge=0)
    candidate_count: int = Field(ge=1, le=10)
    attempt: int = Field(default=0, ge=0, le=5)
    stage: Literal["generation", "review"]
    reason: str = Field(min_length=1, max_length=64, description="e.g. timeout, malformed_json")
    error: str = Field(min_length=1, max_length=2000)
    approach: PedagogicalApproach
    temperature: float = Field(ge=0, le=2)
    seed: int
    usage: GenerationUsage | None = None


@event("course-selected", context=Context.COURSES, key="course_id")
class CourseSelected(Payload):
    """The best candidate (argmax, ties to the lowest index) passed the gates."""

    course_id: uuid.UUID
    selected_index: int = Field(ge=0)
    selected_score: float = Field(ge=0, le=1)
    attempt: int = Field(default=0, ge=0, le=5)
    course: CourseDraft
    valid: bool = Field(description="the course is a valid Course v2")
    issues: list[str] = Field(default_factory=list, max_length=200)
    summary: JobSummary
    similarity: list[SimilarityPair] = Field(default_factory=list, max_length=45)
    warnings: list[str] = Field(default_factory=list, max_length=20)
    review_skipped: bool = Field(default=False, description="SKIP_REVIEW: no final gate")


@event("course-needs-attention", context=Context.COURSES, key="course_id")
class CourseNeedsAttention(Payload):
    """Fail fast: every score below MIN_VIABLE_SCORE, or the selected candidate below
    REVIEW_THRESHOLD. No repair is attempted."""

    course_id: uuid.UUID
    error: Literal["candidate_scores_too_low", "review_below_threshold"]
    code: Literal["needs_attention"] = "needs_attention"
    details: AttentionDetails
    summary: JobSummary
    similarity: list[SimilarityPair] = Field(default_factory=list, max_length=45)
    warnings: list[str] = Field(default_factory=list, max_length=20)

    def body(self) -> dict[str, Any]:
        """The seed's 422 body."""
        d = self.details
        details: dict[str, Any] = {
            "maxScore": d.max_score,
            "minViableScore": d.min_viable_score,
            "candidateCount": d.candidate_count,
            "scores": list(d.scores),
        }
        if self.error == "review_below_threshold":
            details |= {
                "selectedIndex": d.selected_index,
                "reviewScore": d.review_score,
                "reviewThreshold": d.review_threshold,
            }
        return {"error": self.error, "code": self.code, "details": details}


@event("course-failed", context=Context.COURSES, key="course_id")
class CourseFailed(Payload):
    """No candidate was scored: all failed, or none reported by the deadline."""

    course_id: uuid.UUID
    reason: Literal["all_candidates_failed", "no_candidate_by_deadline"]
    failures: list[Annotated[str, Field(max_length=500)]] = Field(
        default_factory=list, max_length=10
    )
    summary: JobSummary
