"""The llm scorer (the seed's LLMScoringService) and the scoring strategies.

Step 1 is always the deterministic structural validation: a lesson with
structural errors scores 0 without a model call. Step 2 asks the model, at
temperature 0 (``scoring.temperature``) with ``scoring.maxTokens``, to judge
the lesson like an instructor over the six categories and name its 10-15
most costly issues, each with a suggestion naming the exact JSON path and
change. Category scores above their points are rejected and re-asked.

``score(...)``: ``method`` rubric is the rules scorer; llm falls back to it
(recorded as ``rules_fallback``) unless ``fallback`` is off, as for a rewrite's
candidate, which must be judged by the scorer that judged the original.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from pydantic import Field

from events.common import GenerationUsage
from events.lessons import SCORE_CATEGORIES, ScoreCategory, ScoreDetail, ScoreReport, SuggestedFix
from services.generation import Family, Gateway, Generated, GenerationRequest, generate, register
from services.lessons.contract import Camel
from services.lessons.phases.base import FAMILY_PREFIX
from services.lessons.scoring.report import POINTS, SAFETY_CAP, grade, invalid, rubric_score
from services.lessons.scoring.structure import structural_errors

__all__ = ["SCORING", "SCORING_TASK", "LlmScore", "ScoringInput", "llm_report", "score"]

SCORING_TASK = "lesson-scoring"


@dataclass(frozen=True)
class ScoringInput:
    lesson: dict[str, Any]
    temperature: float = 0.0
    max_tokens: int = 16000


class LlmCategory(Camel):
    category: ScoreCategory
    score: float = Field(ge=0)


class LlmIssue(Camel):
    category: ScoreCategory
    section: str = Field(min_length=1, max_length=300)
    issue: str = Field(min_length=1, max_length=600)
    suggestion: str = Field(min_length=1, max_length=800)
    points_lost: float = Field(gt=0, le=30)
    path: str | None = Field(default=None, max_length=200)
    value: str | list[str] | None = Field(default=None, description="the new value at path")


class LlmScore(Camel):
    categories: list[LlmCategory] = Field(min_length=6, max_length=6)
    issues: list[LlmIssue] = Field(default_factory=list, max_length=15)


def _check(out: LlmScore) -> None:
    named = [c.category for c in out.categories]
    if sorted(named) != sorted(SCORE_CATEGORIES):
        raise ValueError("score each of the six categories exactly once")
    over = [
        f"{c.category.value} {c.score} > {SCORE_CATEGORIES[c.category]}"
        for c in out.categories
        if c.score > SCORE_CATEGORIES[c.category]
    ]
    if over:
        raise ValueError(f"category scores above their points: {over}")


def llm_report(out: LlmScore) -> ScoreReport:
    categories = {c.category: round(c.score, 2) for c in out.categories}
    total = round(sum(categories.values()) * 100 / POINTS, 2)
    capped = categories[ScoreCategory.SAFETY] == 0 and total > SAFETY_CAP
    total = min(total, SAFETY_CAP) if capped else total
    details = [
        ScoreDetail(
            section=f"{i.category.value}: {i.section}",
            category=i.category,
            score=0,
            max_score=i.points_lost,
            issues=[i.issue],
            suggestions=[i.suggestion],
            fixes=[SuggestedFix(path=i.path, value=i.value)]
            if i.path and i.value is not None
            else [],
        )
        for i in out.issues
    ]
    return ScoreReport(
        total=total,
        grade=grade(total),
        categories=categories,
        details=details,
        safety_capped=capped,
        method="llm",
    )


def rules(value: ScoringInput) -> ScoreReport:
    return rubric_score(value.lesson)


async def llm(value: ScoringInput, gateway: Gateway) -> Generated[ScoreReport]:
    started = time.perf_counter()
    errors = structural_errors(value.lesson)
    if errors:  # step 1 ends scoring: no model call
        usage = GenerationUsage(
            family=f"{FAMILY_PREFIX}.scoring",
            task=SCORING_TASK,
            strategy="rules",
            latency_ms=round((time.perf_counter() - started) * 1000, 3),
        )
        return Generated(invalid(errors, method="llm"), usage)
    made = await gateway.generate(
        GenerationRequest(
            task=SCORING_TASK,
            family=f"{FAMILY_PREFIX}.scoring",
            content={
                "lesson": value.lesson,
                "points": {k.value: v for k, v in SCORE_CATEGORIES.items()},
            },
            output=LlmScore,
            temperature=value.temperature,
            max_tokens=value.max_tokens,
            check=_check,
        )
    )
    return Generated(llm_report(made.value), made.usage, made.notes)


SCORING: Family[ScoringInput, ScoreReport] = register(
    Family(f"{FAMILY_PREFIX}.scoring", rules, llm=llm, task=SCORING_TASK)
)


async def score(
    value: ScoringInput,
    *,
    method: str,
    strategy: str,
    gateway: Gateway,
    fallback: bool = True,
) -> Generated[ScoreReport]:
    """Score with the rubric (``method`` rubric) or, for llm, under the lesson's strategy.

    The report's ``method`` says which scorer judged. Without ``fallback`` (a
    candidate, judged by the original's scorer) an llm failure raises
    ``GenerationError`` instead of falling back to the rubric."""
    if method == "rubric":
        return await generate(SCORING, value, strategy="rules", gateway=gateway)
    if fallback:
        return await generate(SCORING, value, strategy=strategy, gateway=gateway)
    return await llm(value, gateway)
