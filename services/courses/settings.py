"""Typed settings of the courses family: the seed's flags under their own names.

Every flag of the seed's tables is read under its own name (``USE_CANDIDATES``,
``CANDIDATE_COUNT``, ``MIN_VIABLE_SCORE``, ``REVIEW_THRESHOLD``,
``QUALITY_RETRY_LIMIT``, ``SKIP_REVIEW``) and also under the ``NLS_`` prefix.
``USE_CANDIDATES=1`` forces ``QUALITY_RETRY_LIMIT`` to 0: quality comes from the
selection, never from repair loops.

K candidates run in parallel only if K model calls may be in flight: a candidate or
review worker takes ``NLS_COURSE_CONCURRENCY`` candidates at once (faust
concurrency), and its gateway holds at most ``NLS_LLM_CONCURRENCY`` calls per
provider (default 4). ``gateway_settings`` raises the gateway's limit to the
worker's when ``NLS_LLM_CONCURRENCY`` is not set; when it is set (a provider's rate
limit), it is kept and ``serialised_by`` says what it costs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Self

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from events.courses import Strategy
from services.generation.settings import GenerationSettings
from services.settings import default_packs_dir

__all__ = ["DEFAULT_PACKS", "CourseSettings", "gateway_settings", "serialised_by"]

DEFAULT_PACKS = Path(__file__).resolve().parents[2] / "packs"


def _seed_flag(name: str) -> AliasChoices:
    return AliasChoices(name, f"NLS_{name}", name.lower())


class CourseSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NLS_", extra="ignore", populate_by_name=True)

    # The seed's Phase 0 flags.
    use_candidates: bool = Field(
        default=False,
        validation_alias=_seed_flag("USE_CANDIDATES"),
        description="1: best of K candidates in parallel; 0: the single-generation path",
    )
    candidate_count: int = Field(
        default=3,
        ge=1,
        le=10,
        validation_alias=_seed_flag("CANDIDATE_COUNT"),
        description="candidates generated in parallel (2-5 recommended)",
    )
    min_viable_score: float = Field(
        default=0.40,
        ge=0,
        le=1,
        validation_alias=_seed_flag("MIN_VIABLE_SCORE"),
        description="below it for every candidate: needs_attention, no repair",
    )
    # The seed's quality control.
    review_threshold: float = Field(
        default=0.60,
        ge=0,
        le=1,
        validation_alias=_seed_flag("REVIEW_THRESHOLD"),
        description="the final gate on the selected candidate's overall score",
    )
    quality_retry_limit: int = Field(
        default=1,
        ge=0,
        le=5,
        validation_alias=_seed_flag("QUALITY_RETRY_LIMIT"),
        description="improvement attempts on the single path (0 when USE_CANDIDATES=1)",
    )
    skip_review: bool = Field(
        default=False,
        validation_alias=_seed_flag("SKIP_REVIEW"),
        description="1: skip the final quality gate",
    )
    # This platform's own.
    course_strategy: Strategy = Field(default="auto", description="rules, llm or auto")
    course_concurrency: int = Field(
        default=10,
        ge=1,
        le=64,
        description="candidates a worker takes at once, and (unless NLS_LLM_CONCURRENCY is "
        "set) its model calls in flight; >= K keeps a course's K candidates parallel",
    )
    course_deadline_s: float = Field(
        default=180.0, gt=0, le=3600, description="the fan-in waits this long for its candidates"
    )
    course_candidate_timeout_s: float = Field(
        default=120.0, gt=0, le=3600, description="one candidate's generation, fallback included"
    )
    course_llm_timeout_s: float = Field(default=60.0, gt=0, le=600, description="one model call")
    course_llm_fallback: bool = Field(
        default=True,
        description="an llm failure makes the rules candidate instead (false: the candidate fails)",
    )
    course_packs: Path = Field(
        default_factory=default_packs_dir,
        description="content packs the rules strategy takes facts from (default: NLS_PACKS_DIR)",
    )

    @model_validator(mode="after")
    def _candidates_never_retry(self) -> Self:
        if self.use_candidates:
            self.quality_retry_limit = 0
        return self


def gateway_settings(generation: GenerationSettings, courses: CourseSettings) -> GenerationSettings:
    """The gateway settings of a course worker: a model call in flight for every candidate
    it takes at once, unless ``NLS_LLM_CONCURRENCY`` was set (then that limit stands)."""
    if "concurrency" in generation.model_fields_set:
        return generation
    if generation.concurrency >= courses.course_concurrency:
        return generation
    return generation.model_copy(update={"concurrency": courses.course_concurrency})


def serialised_by(generation: GenerationSettings, courses: CourseSettings) -> str | None:
    """Why a course of ``CANDIDATE_COUNT`` candidates would not run fully in parallel on a
    worker with these settings (None when it would)."""
    k = courses.candidate_count
    if courses.course_concurrency < k:
        return f"NLS_COURSE_CONCURRENCY={courses.course_concurrency} is below CANDIDATE_COUNT={k}"
    if generation.concurrency < k:
        return f"NLS_LLM_CONCURRENCY={generation.concurrency} is below CANDIDATE_COUNT={k}"
    return None
