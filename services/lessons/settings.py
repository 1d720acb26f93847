"""Typed settings of the lessons family: the seed's refinement and scoring configuration.

The seed's keys keep their names (``refinement.scoreThreshold``,
``scoring.maxTokens``, ...); from the environment they are read as
``NLS_LESSONS_REFINEMENT__SCORE_THRESHOLD=95``, ``NLS_LESSONS_SCORING__METHOD=rubric``.

- ``refinement.enabled``: Phase 10 at all; ``scoreThreshold`` (97): refine below it;
  ``strategy``: ``rewrite`` (v2) or ``patch`` (v1, deprecated: apply at most
  ``maxFixes`` of the scorer's fixes, no model); ``rewriteEnabled``: with the
  rewrite strategy, whether v2 runs (off: Phase 10 is skipped, never silently
  replaced by v1); ``rewriteShadowMode``: run, validate, score and record, but
  keep the original; ``autoApply``: an accepted candidate becomes the lesson
  (off: recorded only); ``saveOriginal``: keep the original's content beside
  the refined version in the read model.
- ``scoring.method``: ``llm`` (the lesson's strategy decides whether a model is
  asked) or ``rubric`` (always the rules scorer); ``temperature`` (0.0) and
  ``maxTokens`` (16000) for the llm scorer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel
from pydantic_settings import BaseSettings, SettingsConfigDict

from events.lessons import RewriteSettings
from services.settings import default_packs_dir

__all__ = ["LessonSettings", "RefinementConfig", "ScoringConfig"]


class _Config(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class RefinementConfig(_Config):
    enabled: bool = True
    score_threshold: float = Field(default=97, ge=0, le=100)
    max_fixes: int = Field(default=10, ge=1, le=100, description="v1 (patch) only")
    save_original: bool = True
    auto_apply: bool = True
    strategy: Literal["rewrite", "patch"] = "rewrite"
    rewrite_enabled: bool = True
    rewrite_shadow_mode: bool = False

    def active(self) -> str | None:
        """Why Phase 10 will not run, or None when it will."""
        if not self.enabled:
            return "refinement is disabled (refinement.enabled=false)"
        if self.strategy == "rewrite" and not self.rewrite_enabled:
            return "the v2 rewrite is disabled (refinement.rewriteEnabled=false)"
        return None

    def rewrite_settings(self) -> RewriteSettings:
        return RewriteSettings(
            score_threshold=self.score_threshold,
            strategy=self.strategy,
            max_fixes=self.max_fixes,
            save_original=self.save_original,
            auto_apply=self.auto_apply,
            shadow_mode=self.rewrite_shadow_mode,
        )


class ScoringConfig(_Config):
    method: Literal["llm", "rubric"] = "llm"
    temperature: float = Field(default=0.0, ge=0, le=2)
    max_tokens: int = Field(default=16000, ge=256, le=64000)


class LessonSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="NLS_LESSONS_", env_nested_delimiter="__", extra="ignore"
    )

    refinement: RefinementConfig = Field(default_factory=RefinementConfig)
    scoring: ScoringConfig = Field(default_factory=ScoringConfig)
    strategy: Literal["rules", "llm", "auto"] = Field(
        default="auto", description="the default strategy of a request that names none"
    )
    packs_dir: Path = Field(
        default_factory=default_packs_dir,
        description="content packs: <dir>/<pack>/pack.yaml (default: NLS_PACKS_DIR)",
    )
    phase_concurrency: int = Field(default=8, ge=1, le=64, description="phases in flight")
    deadline_s: float = Field(
        default=1800, gt=0, le=86_400, description="a lesson not completed by then fails"
    )
