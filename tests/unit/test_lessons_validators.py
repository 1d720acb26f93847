"""Phase 10's three validator layers against damage done to real lessons, and the fail-safe:
whatever a rewrite does wrong, the original comes back, with the reason recorded."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events.lessons import RefinementOutcome, RewriteSettings
from services.generation import Gateway
from services.lessons.refine.gate import refine
from services.lessons.refine.validators import (
    completeness,
    corruption,
    structural_invariants,
    validate_candidate,
)
from services.lessons.scoring.report import rubric_score
from services.lessons.simulated import SimulatedLessonProvider
from tests.support.lessons import damaged, lesson_for

pytestmark = pytest.mark.unit

LESSONS = [("ccna", "ospf"), ("cg2365", "final-circuits"), ("cg2365", "ohms-law")]
Layer = Callable[[dict[str, Any], Any], list[str]]
LAYERS: dict[str, Layer] = {
    "changed_id": structural_invariants,
    "dropped_block": structural_invariants,
    "added_block": structural_invariants,
    "reordered_blocks": structural_invariants,
    "changed_metadata": structural_invariants,
    "emptied_explanation": completeness,
    "object_object": lambda original, candidate: corruption(candidate),
    "bad_answer_type": lambda original, candidate: corruption(candidate),
    "malformed_answer": lambda original, candidate: corruption(candidate),
}
FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("kind", sorted(LAYERS))
@FAST
@given(data=st.data())
def test_each_layer_rejects_its_own_class_of_damage(kind: str, data: st.DataObject) -> None:
    original = lesson_for(*data.draw(st.sampled_from(LESSONS)))
    candidate = data.draw(damaged(original, kind))
    found = LAYERS[kind](original, candidate)
    assert found, f"{kind} went unnoticed"
    layer = found[0].split(":", 1)[0]
    named: dict[Layer, str] = {structural_invariants: "structural", completeness: "completeness"}
    assert layer == named.get(LAYERS[kind], "corruption")
    assert validate_candidate(original, candidate)


@pytest.mark.parametrize("pack_name,topic", LESSONS)
def test_an_untouched_or_fixed_lesson_passes_every_layer(pack_name: str, topic: str) -> None:
    original = lesson_for(pack_name, topic)
    assert validate_candidate(original, original) == []
    fixed = lesson_for(pack_name, topic)
    first = next(b for b in fixed["blocks"] if b["type"] == "explanation")
    first["content"]["content"] += "\n\nA sentence the rewrite added."
    assert validate_candidate(original, fixed) == []


def _refine(original: dict[str, Any], candidate: Any) -> Any:
    provider = SimulatedLessonProvider(rewrites="damaged", damage=lambda _: candidate)
    report = rubric_score(original)

    async def scorer(lesson: dict[str, Any]) -> Any:
        return rubric_score(lesson)

    return asyncio.run(
        refine(
            original,
            report,
            settings=RewriteSettings(),
            strategy="llm",
            gateway=Gateway([provider]),
            scorer=scorer,
        )
    ), report


@pytest.mark.parametrize("kind", sorted(LAYERS))
@FAST
@given(data=st.data())
def test_a_damaged_rewrite_returns_the_original_and_says_why(
    kind: str, data: st.DataObject
) -> None:
    original = lesson_for(*data.draw(st.sampled_from(LESSONS)))
    candidate = data.draw(damaged(original, kind))
    result, report = _refine(original, candidate)
    assert result.outcome is RefinementOutcome.REJECTED_VALIDATION
    assert result.candidate is None and not result.applied
    assert result.final_score == report.total
    assert result.validation_failures and result.reason.startswith(
        f"{len(result.validation_failures)} validation failure"
    )


def test_a_rewrite_that_is_not_a_lesson_is_a_parse_failure() -> None:
    original = lesson_for("ccna", "ospf")
    provider = SimulatedLessonProvider(rewrites="garbage")

    async def scorer(lesson: dict[str, Any]) -> Any:
        raise AssertionError("a parse failure is never scored")

    result = asyncio.run(
        refine(
            original,
            rubric_score(original),
            settings=RewriteSettings(),
            strategy="llm",
            gateway=Gateway([provider], reasks=1),
            scorer=scorer,
        )
    )
    assert result.outcome is RefinementOutcome.REJECTED_PARSE
    assert "malformed_json" in result.reason and result.candidate is None
    assert provider.calls["lesson-rewrite"] == 2  # the reply, and one re-ask
