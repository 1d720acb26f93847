"""Phase 10's gate and configuration, and the improve-lesson body in each outcome."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from events.lessons import RefinementOutcome, RewriteSettings, ScoreReport
from services.generation import Gateway
from services.lessons.improve import improve_body, message
from services.lessons.refine.gate import Refinement, gate, refine
from services.lessons.scoring.report import rubric_score
from services.lessons.settings import LessonSettings, RefinementConfig
from services.lessons.simulated import SimulatedLessonProvider
from tests.support.lessons import lesson_for

pytestmark = pytest.mark.unit
Outcome = RefinementOutcome


def _degraded() -> dict[str, Any]:
    """A real lesson missing its diagram reference and some hints (fixable by rules)."""
    lesson = lesson_for("cg2365", "final-circuits")
    for b in lesson["blocks"]:
        if b["type"] == "explanation":
            b["content"]["content"] = re.sub(
                r"\s*The diagram beside this text[^.]*\.", "", b["content"]["content"]
            )
        for q in b["content"].get("questions", [])[:1]:
            q.pop("hint", None)
    return lesson


async def _rubric(lesson: dict[str, Any]) -> ScoreReport:
    return rubric_score(lesson)


def _run(lesson: dict[str, Any], settings: RewriteSettings, **kw: Any) -> Refinement:
    gateway = kw.pop("gateway", Gateway())
    return asyncio.run(
        refine(
            lesson,
            kw.pop("report", rubric_score(lesson)),
            settings=settings,
            strategy=kw.pop("strategy", "rules"),
            gateway=gateway,
            scorer=kw.pop("scorer", _rubric),
        )
    )


def test_the_score_gate_rejects_a_regression_and_keeps_the_original() -> None:
    original = lesson_for("cg2365", "final-circuits")
    worse = _degraded()  # valid for every layer, but it scores lower
    provider = SimulatedLessonProvider(rewrites="damaged", damage=lambda _: worse)
    result = _run(original, RewriteSettings(), strategy="llm", gateway=Gateway([provider]))
    assert result.outcome is Outcome.REJECTED_SCORE and not result.applied
    assert result.candidate_score is not None and result.candidate_score < result.original_score
    assert result.final_score == result.original_score == rubric_score(original).total
    assert "<" in result.reason


def test_an_equal_score_passes_the_gate() -> None:
    proposal = Refinement(Outcome.ACCEPTED, "validated", original_score=90.0, candidate={"x": 1})
    report = rubric_score(lesson_for("ccna", "ospf")).model_copy(update={"total": 90.0})
    verdict = gate(proposal, report, RewriteSettings())
    assert verdict.outcome is Outcome.ACCEPTED and verdict.applied and verdict.final_score == 90.0


def test_shadow_mode_runs_and_records_but_keeps_the_original() -> None:
    result = _run(_degraded(), RewriteSettings(shadow_mode=True))
    assert result.outcome is Outcome.ACCEPTED and result.shadow and not result.applied
    best = rubric_score(lesson_for("cg2365", "final-circuits")).total
    assert result.candidate is not None and result.candidate_score == best
    assert result.final_score == result.original_score
    assert "shadow mode" in result.reason


def test_without_auto_apply_an_accepted_candidate_is_recorded_only() -> None:
    result = _run(_degraded(), RewriteSettings(auto_apply=False))
    assert result.outcome is Outcome.ACCEPTED and not result.applied and not result.shadow
    assert "autoApply is off" in result.reason


def test_the_deprecated_patch_strategy_applies_at_most_max_fixes() -> None:
    lesson = _degraded()
    report = rubric_score(lesson)
    assert sum(len(d.fixes) for d in report.details) >= 2
    result = _run(lesson, RewriteSettings(strategy="patch", max_fixes=1), strategy="llm")
    assert [c for c in result.changes if not c.startswith("not applied")] == result.changes[:1]
    assert len(result.changes) == 1
    assert result.outcome is Outcome.ACCEPTED and result.final_score > report.total


def test_a_rewrite_that_cannot_run_or_be_scored_fails_out_loud() -> None:
    lesson = _degraded()
    no_model = _run(lesson, RewriteSettings(), strategy="llm", gateway=Gateway())
    assert no_model.outcome is Outcome.FAILED and "did not run" in no_model.reason

    async def broken(_: dict[str, Any]) -> ScoreReport:
        raise TimeoutError("the scorer did not answer")

    unscored = _run(lesson, RewriteSettings(), scorer=broken)
    assert unscored.outcome is Outcome.FAILED and "could not be scored" in unscored.reason
    assert unscored.final_score == unscored.original_score


def test_a_rewrite_with_nothing_to_fix_is_unchanged() -> None:
    result = _run(lesson_for("ccna", "ospf"), RewriteSettings())
    assert result.outcome is Outcome.UNCHANGED and result.final_score == 100


def test_refinement_configuration_uses_the_seeds_keys() -> None:
    defaults = RefinementConfig()
    assert (defaults.score_threshold, defaults.max_fixes, defaults.strategy) == (97, 10, "rewrite")
    assert defaults.enabled and defaults.save_original and defaults.auto_apply
    assert defaults.rewrite_enabled and not defaults.rewrite_shadow_mode
    s = LessonSettings(
        refinement={"scoreThreshold": 90, "rewriteShadowMode": True, "maxFixes": 3},
        scoring={"method": "rubric", "maxTokens": 8000},
    )
    assert s.refinement.rewrite_settings() == RewriteSettings(
        score_threshold=90, max_fixes=3, shadow_mode=True
    )
    assert (s.scoring.method, s.scoring.temperature, s.scoring.max_tokens) == ("rubric", 0.0, 8000)
    assert RefinementConfig(enabled=False).active() == (
        "refinement is disabled (refinement.enabled=false)"
    )
    assert "rewriteEnabled" in (RefinementConfig(rewrite_enabled=False).active() or "")
    assert RefinementConfig(strategy="patch", rewrite_enabled=False).active() is None


def test_refinement_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NLS_LESSONS_REFINEMENT__SCORE_THRESHOLD", "95")
    monkeypatch.setenv("NLS_LESSONS_REFINEMENT__REWRITE_SHADOW_MODE", "true")
    monkeypatch.setenv("NLS_LESSONS_SCORING__METHOD", "rubric")
    s = LessonSettings()
    assert s.refinement.score_threshold == 95 and s.refinement.rewrite_shadow_mode
    assert s.scoring.method == "rubric"


# the improve body -------------------------------------------------------------------------
def _body(outcome: RefinementOutcome, **kw: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "reason": "why",
        "original_score": 85.0,
        "candidate_score": None,
        "applied": False,
    } | kw
    return improve_body(outcome, **values).model_dump(by_alias=True, exclude_none=True)


def test_the_improve_body_in_each_outcome() -> None:
    assert _body(Outcome.ACCEPTED, candidate_score=93.0, applied=True) == {
        "success": True,
        "wasImproved": True,
        "originalScore": 85.0,
        "finalScore": 93.0,
        "scoreDelta": 8.0,
    }
    failures = ["structural: block count changed from 10 to 9"]
    assert _body(Outcome.REJECTED_VALIDATION, validation_failures=failures) == {
        "success": True,
        "wasImproved": False,
        "originalScore": 85.0,
        "finalScore": 85.0,
        "scoreDelta": 0.0,
        "validationFailures": failures,
    }
    assert _body(Outcome.REJECTED_PARSE, reason="the rewrite is not a lesson")[
        "validationFailures"
    ] == ["parse: the rewrite is not a lesson"]
    regression = _body(Outcome.REJECTED_SCORE, candidate_score=80.0)
    assert regression["success"] and not regression["wasImproved"]
    assert regression["finalScore"] == 85.0 and "validationFailures" not in regression
    assert _body(Outcome.ACCEPTED, candidate_score=93.0)["wasImproved"] is False  # shadow: recorded
    assert _body(Outcome.UNCHANGED)["scoreDelta"] == 0.0
    failed = _body(
        Outcome.FAILED, reason="the lesson has no scored version yet", original_score=None
    )
    assert failed == {
        "success": False,
        "wasImproved": False,
        "originalScore": 0.0,
        "finalScore": 0.0,
        "scoreDelta": 0.0,
        "error": "the lesson has no scored version yet",
    }


def test_the_cli_messages_are_the_seeds() -> None:
    def said(outcome: RefinementOutcome, **kw: Any) -> str:
        values: dict[str, Any] = {
            "reason": "why",
            "original_score": 85.0,
            "candidate_score": None,
            "applied": False,
        } | kw
        return message(improve_body(outcome, **values))

    assert (
        said(Outcome.ACCEPTED, candidate_score=93.0, applied=True)
        == "Improved! Score: 85 -> 93 (+8)"
    )
    assert said(Outcome.REJECTED_VALIDATION, validation_failures=["corruption: x"]) == (
        "Validation failed: corruption: x"
    )
    assert said(Outcome.REJECTED_SCORE, candidate_score=80.0) == "Score did not improve"
    assert said(Outcome.UNCHANGED) == "Score did not improve"
    assert said(Outcome.FAILED, reason="no model").startswith("Refinement failed: no model")
