"""The assembler's contract ordering, whichever optional blocks exist, and normalisation."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from events.lessons import LessonPhase
from services.lessons.contract import (
    BlockType,
    DiagramContent,
    Layout,
    block_id,
    parse_lesson,
    question_id,
)
from services.lessons.normalize import normalise_lesson
from services.lessons.phases import PhaseContext
from services.lessons.phases.assembler import assemble, rules_notes
from services.lessons.phases.models import (
    ExplanationOutput,
    PlanningOutput,
    SpacedReviewOutput,
    UnderstandingChecksOutput,
)
from services.lessons.scoring.structure import structural_errors
from tests.support.lessons import brief, lesson_for, run_rules

pytestmark = pytest.mark.unit

REQUEST = brief("ccna", "ospf", prerequisites=("subnet-mask",))
DIAGRAM = DiagramContent(
    title="OSPF beside EIGRP",
    description="Two routing protocols side by side.",
    elements=["OSPF", "EIGRP"],
)
FULL = run_rules(REQUEST)
TYPES = {
    1: BlockType.OUTCOMES,
    2: BlockType.VOCAB,
    3: BlockType.DIAGRAM,
    4: BlockType.EXPLANATION,
    4.5: BlockType.CHECK,
    5: BlockType.EXPLANATION,
    5.5: BlockType.CHECK,
    6: BlockType.WORKED_EXAMPLE,
    8: BlockType.PRACTICE,
    9.5: BlockType.INTEGRATIVE,
    10: BlockType.SPACED_REVIEW,
}


def _variant(diagram: bool, second: bool, worked: bool, review: bool) -> dict[LessonPhase, Any]:
    out = dict(FULL)
    plan: PlanningOutput = out[LessonPhase.PLANNING]
    assert plan.worked_example_kind == "procedure"
    out[LessonPhase.PLANNING] = plan.model_copy(
        update={
            "layout": Layout.SPLIT_VIS if diagram else Layout.LINEAR_FLOW,
            "diagram": DIAGRAM if diagram else None,
            "sections": plan.sections if second else plan.sections[:1],
            "needs_worked_example": worked,
            "worked_example_kind": "procedure" if worked else None,
        }
    )
    explanation: ExplanationOutput = out[LessonPhase.EXPLANATION]
    checks: UnderstandingChecksOutput = out[LessonPhase.UNDERSTANDING_CHECKS]
    if not second:
        out[LessonPhase.EXPLANATION] = ExplanationOutput(sections=explanation.sections[:1])
        out[LessonPhase.UNDERSTANDING_CHECKS] = UnderstandingChecksOutput(checks=checks.checks[:1])
    if not worked:
        out.pop(LessonPhase.WORKED_EXAMPLE)
    if not review:
        out[LessonPhase.SPACED_REVIEW] = SpacedReviewOutput()
    out.pop(LessonPhase.ASSEMBLER)
    return out


@settings(max_examples=40, deadline=None)
@given(st.booleans(), st.booleans(), st.booleans(), st.booleans())
def test_contract_order_for_every_combination_of_optional_blocks(
    diagram: bool, second: bool, worked: bool, review: bool
) -> None:
    ctx = PhaseContext(REQUEST, _variant(diagram, second, worked, review))
    lesson = assemble(ctx, rules_notes(ctx))
    expected = [1, 2, *([3] if diagram else []), 4, 4.5, *([5, 5.5] if second else [])]
    expected += [*([6] if worked else []), 8, 9.5, *([10] if review else [])]
    assert [b.order for b in lesson.blocks] == expected
    assert [b.type for b in lesson.blocks] == [TYPES[o] for o in expected]
    if review:
        assert lesson.blocks[-1].type is BlockType.SPACED_REVIEW
    assert lesson.blocks[-1 - review].type is BlockType.INTEGRATIVE  # 9.5, never 9 or 11
    data = lesson.model_dump(mode="json", by_alias=True)
    assert structural_errors(data) == []


def test_block_and_question_ids_follow_the_contract() -> None:
    lesson = parse_lesson(lesson_for("ccna", "ospf"))
    seen: dict[BlockType, int] = {}
    for b in lesson.blocks:
        seen[b.type] = n = seen.get(b.type, 0) + 1
        assert b.id == block_id("L-1", b.type, n)
        for k, q in enumerate(getattr(b.content, "questions", None) or [], start=1):
            assert q.id == question_id("L-1", b.type, k, n)
    assert block_id("203-3A2", BlockType.EXPLANATION, 2) == "203-3A2-explain-2"
    assert question_id("203-3A2", BlockType.CHECK, 3, 2) == "203-3A2-C2-L3"


def _interleave(blocks: list[dict[str, Any]], rng: random.Random) -> list[dict[str, Any]]:
    """A random order that keeps blocks of one type in their order (explanation 1 before 2)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for b in blocks:
        groups.setdefault(b["type"], []).append(b)
    out = []
    while any(groups.values()):
        kind = rng.choice([k for k, v in groups.items() if v])
        out.append(groups[kind].pop(0))
    return out


_SPELLING = {
    "short-text": "short_text",
    "multiple-choice": "MCQ",
    "true-false": "True/False",
    "calculation": "numeric",
}


@settings(max_examples=30, deadline=None)
@given(st.randoms(use_true_random=False))
def test_normalisation_restores_order_ids_and_answer_spellings(rng: random.Random) -> None:
    original = lesson_for("cg2365", "final-circuits")
    messy = copy.deepcopy(original)
    messy["blocks"] = _interleave(messy["blocks"], rng)
    for b in messy["blocks"]:
        b["id"] = f"  {b['id'].upper()} "
        b["order"] = rng.choice([0, 7, 99])
        for q in b["content"].get("questions", []):
            q["id"] = "q"
            q["answerType"] = _SPELLING[q["answerType"]]
            q["expectedAnswer"] = [q["expectedAnswer"][0].upper(), *q["expectedAnswer"]]
    fixed = normalise_lesson(messy)
    assert [b["id"] for b in fixed["blocks"]] == [b["id"] for b in original["blocks"]]
    assert [b["order"] for b in fixed["blocks"]] == [b["order"] for b in original["blocks"]]
    for got, want in zip(fixed["blocks"], original["blocks"], strict=True):
        pairs = zip(
            got["content"].get("questions", []), want["content"].get("questions", []), strict=True
        )
        for gq, wq in pairs:
            assert gq["id"] == wq["id"]
            assert gq["answerType"] == wq["answerType"]
            # Duplicates differing in case collapse; multiple choice takes the option's spelling.
            assert [a.lower() for a in gq["expectedAnswer"]] == [
                a.lower() for a in wq["expectedAnswer"]
            ]
    assert structural_errors(fixed) == []
