"""Scoring: step 1 returns at once on structural errors, step 2 scores the seed's six
categories with the safety cap, and every suggestion names a JSON path that exists."""

from __future__ import annotations

import asyncio
import copy
import re
from typing import Any

import pytest

from events.lessons import SCORE_CATEGORIES, RefinementOutcome, RewriteSettings, ScoreCategory
from services.generation import Gateway
from services.lessons.refine.gate import refine
from services.lessons.refine.patches import PatchError, apply_fixes, parse_path, resolve
from services.lessons.safety import SAFETY_NOTE
from services.lessons.scoring.llm import ScoringInput, score
from services.lessons.scoring.report import SAFETY_CAP, grade, rubric_score
from services.lessons.simulated import SimulatedLessonProvider
from tests.support.lessons import PACKS, lesson_for, topics

pytestmark = pytest.mark.unit


def _questions(lesson: dict[str, Any]) -> list[dict[str, Any]]:
    return [q for b in lesson["blocks"] for q in b["content"].get("questions", [])]


def _explanations(lesson: dict[str, Any]) -> list[dict[str, Any]]:
    return [b["content"] for b in lesson["blocks"] if b["type"] == "explanation"]


def test_structural_errors_score_zero_at_once() -> None:
    lesson = lesson_for("ccna", "ospf")
    lesson["blocks"] = [b for b in lesson["blocks"] if b["type"] != "practice"]
    lesson["blocks"][3]["type"] = "quiz"
    report = rubric_score(lesson)
    assert report.total == 0 and report.grade == "Invalid" and not report.details
    assert any("blocks[3]" in e for e in report.structural_errors)
    provider = SimulatedLessonProvider()
    made = asyncio.run(
        score(ScoringInput(lesson), method="llm", strategy="llm", gateway=Gateway([provider]))
    )
    assert made.value.total == 0 and made.value.structural_errors
    assert provider.calls["lesson-scoring"] == 0  # step 1 ended it: no model call


def test_out_of_order_blocks_are_a_structural_error() -> None:
    lesson = lesson_for("ccna", "ospf")
    lesson["blocks"].reverse()
    assert any("contract order" in e for e in rubric_score(lesson).structural_errors)


@pytest.mark.parametrize("pack_name", PACKS)
def test_categories_keep_to_their_points_and_suggestions_name_real_paths(pack_name: str) -> None:
    for topic in topics(pack_name):
        lesson = lesson_for(pack_name, topic)
        report = rubric_score(lesson)
        assert set(report.categories) == set(SCORE_CATEGORIES)
        for category, got in report.categories.items():
            assert 0 <= got <= SCORE_CATEGORIES[category]
        assert report.total == pytest.approx(sum(report.categories.values()) * 100 / 90, abs=0.01)
        assert report.grade == grade(report.total)
        for d in report.details:
            for fix in d.fixes:
                resolve(lesson, parse_path(fix.path), fix.path)  # raises if the path is wrong
            for s in d.suggestions:
                for path in re.findall(r"blocks\[\d+\][\w.\[\]]*", s):
                    resolve(lesson, parse_path(path.rstrip(".")), path)


def test_the_total_is_stated_out_of_100() -> None:
    report = rubric_score(lesson_for("ccna", "ospf"))
    assert sum(SCORE_CATEGORIES.values()) == 90
    assert report.total == 100 and report.grade == "Excellent"
    assert [grade(x) for x in (97, 93, 85, 84, 50)] == [
        "Excellent",
        "Strong",
        "Usable",
        "Needs work",
        "Poor",
    ]


def test_a_missing_safety_callout_caps_the_total() -> None:
    lesson = lesson_for("cg2365", "ring-final-circuit")
    for c in _explanations(lesson):
        c["content"] = c["content"].replace(SAFETY_NOTE, "").strip()
    report = rubric_score(lesson)
    assert report.categories[ScoreCategory.SAFETY] == 0
    assert report.safety_capped and report.total == SAFETY_CAP
    fix = report.top_issues()[0].fixes[0]
    assert fix.op == "append_text" and fix.value == SAFETY_NOTE
    # A networking lesson needs no electrical safety callout.
    assert rubric_score(lesson_for("ccna", "ospf")).categories[ScoreCategory.SAFETY] == 5


def _no_hints(lesson: dict[str, Any]) -> None:
    for q in _questions(lesson):
        q.pop("hint", None)


def _no_diagram_reference(lesson: dict[str, Any]) -> None:
    for c in _explanations(lesson):
        c["content"] = re.sub(r"\s*The diagram beside this text[^.]*\.", "", c["content"])


def _no_safety(lesson: dict[str, Any]) -> None:
    for c in _explanations(lesson):
        c["content"] = c["content"].replace(SAFETY_NOTE, "").strip()


def _mcq_without_its_answer(lesson: dict[str, Any]) -> None:
    for q in _questions(lesson):
        if q["answerType"] == "multiple-choice":
            q["options"] = [o for o in q["options"] if o != q["expectedAnswer"][0]] + ["none"]


def _unused_term(lesson: dict[str, Any]) -> None:
    vocab = next(b for b in lesson["blocks"] if b["type"] == "vocab")
    vocab["content"]["terms"].append(
        {
            "term": "Skin effect",
            "definition": "The tendency of alternating current to flow near a conductor's surface.",
        }
    )


@pytest.mark.parametrize(
    "degrade", [_no_hints, _no_diagram_reference, _no_safety, _mcq_without_its_answer, _unused_term]
)
def test_the_rules_rewrite_applies_the_scorers_fixes_and_is_accepted(degrade: Any) -> None:
    lesson = lesson_for("cg2365", "final-circuits")
    degrade(lesson)
    before = rubric_score(lesson)
    assert before.total < 100
    fixes = [f for d in before.top_issues() for f in d.fixes]
    assert fixes
    patched, applied, skipped = apply_fixes(lesson, fixes)
    assert len(applied) == len(fixes) and not skipped

    async def scorer(candidate: dict[str, Any]) -> Any:
        return rubric_score(candidate)

    result = asyncio.run(
        refine(
            lesson,
            before,
            settings=RewriteSettings(),
            strategy="rules",
            gateway=Gateway(),
            scorer=scorer,
        )
    )
    assert result.outcome is RefinementOutcome.ACCEPTED and result.applied
    assert result.candidate == patched
    assert result.final_score > before.total


def test_a_fix_on_a_missing_path_is_refused_not_guessed() -> None:
    lesson = lesson_for("ccna", "ospf")
    report = rubric_score(copy.deepcopy(lesson))
    assert not report.details
    from events.lessons import SuggestedFix

    _, applied, skipped = apply_fixes(
        lesson,
        [
            SuggestedFix(path="blocks[99].content.title", value="x"),
            SuggestedFix(path="blocks[1].content.terms", op="append_text", value="x"),
        ],
    )
    assert applied == [] and len(skipped) == 2
    with pytest.raises(PatchError):
        parse_path("blocks[x]..id")


def test_the_llm_scorer_runs_at_temperature_zero_with_the_seeds_token_limit() -> None:
    lesson = lesson_for("cg2365", "ohms-law")
    provider = SimulatedLessonProvider()
    made = asyncio.run(
        score(
            ScoringInput(lesson, temperature=0.0, max_tokens=16000),
            method="llm",
            strategy="llm",
            gateway=Gateway([provider]),
        )
    )
    (call,) = provider.requests
    assert call.task == "lesson-scoring" and call.temperature == 0.0 and call.max_tokens == 16000
    assert made.value.method == "llm" and made.usage.strategy == "llm"
    assert made.value.total == rubric_score(lesson).total


def test_an_llm_scorer_failure_falls_back_for_the_original_but_not_for_a_candidate() -> None:
    from services.generation import GenerationError

    lesson = lesson_for("ccna", "ospf")
    broken = SimulatedLessonProvider(broken_tasks=frozenset({"lesson-scoring"}))
    gateway = Gateway([broken], reasks=0)
    made = asyncio.run(score(ScoringInput(lesson), method="llm", strategy="llm", gateway=gateway))
    assert made.value.method == "rubric" and made.usage.strategy == "rules_fallback"
    with pytest.raises(GenerationError):
        asyncio.run(
            score(
                ScoringInput(lesson), method="llm", strategy="llm", gateway=gateway, fallback=False
            )
        )
