"""Phase 10's rewrite: the whole lesson once, guided by its scoring report.

- llm (v2, the seed's production path): the original lesson and the report's
  top issues with their suggestions go to the model, which returns the
  complete refined lesson. A reply that is not JSON after the re-ask is a
  parse failure; one the model could not give at all (timeout, transport) is
  a failure to run. Neither falls back to anything: the original stands.
- rules (v2 offline): every fix the report states exactly is applied to a copy
  of the lesson, so the rewrite path runs without a model.
- patch (v1, deprecated, kept for emergency rollback): at most ``maxFixes`` of
  the report's fixes, most costly issues first; no model.

The candidate is returned as written: the validators judge it before anything
else touches it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field, JsonValue

from events.common import GenerationUsage
from events.lessons import RewriteSettings, ScoreReport, SuggestedFix
from services.generation import Gateway, GenerationError, GenerationRequest, InvalidOutput
from services.lessons.contract import Lesson
from services.lessons.phases.base import FAMILY_PREFIX
from services.lessons.refine.patches import apply_fixes
from services.lessons.usage import spent_usage

__all__ = ["REWRITE_TASK", "RewriteResult", "RewrittenLesson", "rewrite"]

REWRITE_TASK = "lesson-rewrite"
REWRITE_MAX_TOKENS = 24000  # the seed's limit for a whole lesson


class _ContractReply(BaseModel):
    lesson: Lesson
    changes: list[str] = Field(default_factory=list, max_length=60)


class RewrittenLesson(BaseModel):
    """The model's reply: the complete lesson, and what it changed.

    The model is asked for the contract's shape (its JSON Schema is the typed
    lesson's, which structured-output APIs need to produce one), but the reply
    is read loosely, so the three validator layers see what really came back
    and say which layer a damaged rewrite breaks.
    """

    lesson: dict[str, JsonValue]
    changes: list[str] = Field(default_factory=list, max_length=60)

    @classmethod
    def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:  # type: ignore[override]
        return _ContractReply.model_json_schema(*args, **kwargs)


@dataclass
class RewriteResult:
    candidate: dict[str, Any] | None
    changes: list[str] = field(default_factory=list)
    usage: GenerationUsage | None = None
    parse_error: str | None = None  # the reply was not a lesson
    run_error: str | None = None  # no reply at all


def _fixes(report: ScoreReport) -> list[SuggestedFix]:
    return [f for d in report.top_issues() for f in d.fixes]


def rules_rewrite(
    lesson: dict[str, Any], report: ScoreReport, settings: RewriteSettings
) -> RewriteResult:
    limit = settings.max_fixes if settings.strategy == "patch" else None
    candidate, applied, skipped = apply_fixes(lesson, _fixes(report), limit=limit)
    notes = [*applied, *(f"not applied: {s}" for s in skipped)]
    usage = GenerationUsage(
        family=f"{FAMILY_PREFIX}.rewrite", task=REWRITE_TASK, strategy=f"rules-{settings.strategy}"
    )
    return RewriteResult(candidate, notes[:60], usage)


def _brief(report: ScoreReport) -> dict[str, Any]:
    return {
        "total": report.total,
        "grade": report.grade,
        "issues": [
            {
                "section": d.section,
                "score": d.score,
                "maxScore": d.max_score,
                "issues": d.issues,
                "suggestions": d.suggestions,
            }
            for d in report.top_issues()
        ],
    }


async def llm_rewrite(
    lesson: dict[str, Any], report: ScoreReport, gateway: Gateway
) -> RewriteResult:
    request = GenerationRequest(
        task=REWRITE_TASK,
        family=f"{FAMILY_PREFIX}.rewrite",
        content={"lesson": lesson, "report": _brief(report)},
        output=RewrittenLesson,
        temperature=0.2,
        max_tokens=REWRITE_MAX_TOKENS,
    )
    try:
        made = await gateway.generate(request)
    except InvalidOutput as exc:
        spent = spent_usage(exc, family=request.family, gateway=gateway)
        return RewriteResult(None, usage=spent, parse_error=f"{exc.reason}: {exc.args[0]}"[:1000])
    except GenerationError as exc:
        spent = spent_usage(exc, family=request.family, gateway=gateway)
        return RewriteResult(None, usage=spent, run_error=f"{exc.reason}: {exc.args[0]}"[:1000])
    return RewriteResult(made.value.lesson, made.value.changes, made.usage)


async def rewrite(
    lesson: dict[str, Any],
    report: ScoreReport,
    *,
    settings: RewriteSettings,
    strategy: str,
    gateway: Gateway,
) -> RewriteResult:
    """One rewrite of ``lesson``; the v1 patch strategy never asks a model."""
    chosen = ("llm" if gateway.configured else "rules") if strategy == "auto" else strategy
    if settings.strategy == "patch" or chosen == "rules":
        return rules_rewrite(lesson, report, settings)
    return await llm_rewrite(lesson, report, gateway)
