"""Teaching constraints: parsed from mustHaveTopics in Phase 1, honoured by every later phase."""

from __future__ import annotations

from typing import Any

import pytest

from events.lessons import LessonPhase
from services.lessons.constraints import (
    TeachingConstraints,
    parse_constraints,
    question_violations,
    text_violations,
)
from services.lessons.contract import AnswerType, BlockType, parse_lesson
from services.lessons.scoring.report import rubric_score
from services.lessons.text import normalise
from tests.support.lessons import PACKS, lesson_for, outputs_for, topics

pytestmark = pytest.mark.unit

HOW_TO = "What an RCD is for, not how to use it"
PURPOSE = "Focus on purpose, not procedures"
IDENTIFY = "Identify the devices, not procedures"
NO_CALC = "Concepts only, no calculations"


@pytest.mark.parametrize(
    ("text", "flag"),
    [
        (HOW_TO, "exclude_how_to"),
        ("what X is for, not how to use", "exclude_how_to"),
        (PURPOSE, "purpose_only"),
        ("Purpose only", "purpose_only"),
        (IDENTIFY, "identification_only"),
        ("identify X, not procedures", "identification_only"),
        (NO_CALC, "no_calculations"),
        ("no maths", "no_calculations"),
    ],
)
def test_the_seeds_phrasings_parse(text: str, flag: str) -> None:
    parsed = parse_constraints([text])
    assert getattr(parsed, flag) is True
    others = {"exclude_how_to", "purpose_only", "identification_only"} - {flag}
    assert not any(getattr(parsed, o) for o in others)


def test_a_specific_scope_names_its_terms_and_plain_topics_are_not_constraints() -> None:
    parsed = parse_constraints(["Only radial and ring final circuits", "Ring final circuits"])
    assert parsed.specific_scope == ["radial", "ring final circuits"]
    assert parsed.allows_procedures and parsed.allows_calculations
    assert parse_constraints(["Circuit protection"]) == TeachingConstraints()


def test_a_model_may_add_constraints_but_never_drop_the_authors() -> None:
    authors = parse_constraints([NO_CALC, HOW_TO])
    model = TeachingConstraints(purpose_only=True)
    joined = model.join(authors)
    assert joined.no_calculations and joined.exclude_how_to and joined.purpose_only


def _all_text(lesson: dict[str, Any]) -> list[tuple[str, str]]:
    out = []
    for b in lesson["blocks"]:
        c = b["content"]
        if b["type"] == "explanation":
            out.append((b["id"], c["content"]))
        for q in c.get("questions", []):
            out.append((q["id"], q["questionText"]))
    return out


@pytest.mark.parametrize("pack_name", PACKS)
@pytest.mark.parametrize("constraint", [HOW_TO, PURPOSE, IDENTIFY])
def test_excluded_how_to_leaves_out_every_procedure(pack_name: str, constraint: str) -> None:
    parsed = parse_constraints([constraint])
    for topic in topics(pack_name):
        outputs = outputs_for(pack_name, topic, (constraint,))
        plan = outputs[LessonPhase.PLANNING]
        assert plan.constraints.allows_procedures is False
        assert plan.worked_example_kind != "procedure"
        lesson = lesson_for(pack_name, topic, (constraint,))
        for where, text in _all_text(lesson):
            assert not text_violations(text, parsed), (topic, where, text)
        assert not any(
            b["type"] == "worked-example" and b["content"]["kind"] == "procedure"
            for b in lesson["blocks"]
        )
        assert "teaching constraints" not in {
            d.section.split(": ")[1] for d in rubric_score(lesson).details
        }


@pytest.mark.parametrize("pack_name", PACKS)
def test_no_calculations_leaves_out_formulas_and_calculation_questions(pack_name: str) -> None:
    parsed = parse_constraints([NO_CALC])
    for topic in topics(pack_name):
        outputs = outputs_for(pack_name, topic, (NO_CALC,))
        assert outputs[LessonPhase.PLANNING].worked_example_kind != "calculation"
        lesson = parse_lesson(lesson_for(pack_name, topic, (NO_CALC,)))
        for b in lesson.blocks:
            for q in getattr(b.content, "questions", None) or []:
                assert q.answer_type is not AnswerType.CALCULATION
                assert not question_violations(q, parsed), (topic, q.question_text)
        for b in lesson.of_type(BlockType.EXPLANATION):
            assert not text_violations(b.content.content, parsed), topic


def test_identification_only_asks_to_identify_never_to_carry_out() -> None:
    lesson = parse_lesson(lesson_for("cg2365", "safe-isolation-procedure", (IDENTIFY,)))
    outcomes = lesson.of_type(BlockType.OUTCOMES)[0].content.outcomes
    assert any(o.text.startswith("Identify") for o in outcomes)
    assert not any(o.text.startswith("Carry out") for o in outcomes)
    assert not lesson.of_type(BlockType.WORKED_EXAMPLE)
    # Without the constraint the same topic has its procedure worked through.
    unconstrained = parse_lesson(lesson_for("cg2365", "safe-isolation-procedure"))
    assert unconstrained.of_type(BlockType.WORKED_EXAMPLE)[0].content.kind == "procedure"


def test_a_specific_scope_keeps_the_lesson_to_its_terms() -> None:
    scope = "Only radial and ring final circuits"
    outputs = outputs_for("cg2365", "final-circuits", (scope,))
    plan = outputs[LessonPhase.PLANNING]
    taught = {s for section in plan.sections for s in section.concepts}
    assert taught == {"radial-circuit", "ring-final-circuit"}
    terms = [normalise(t.term) for t in outputs[LessonPhase.VOCABULARY].terms]
    assert "distribution circuit" not in terms and "unfused spur" not in terms
    text = normalise(" ".join(s.content for s in outputs[LessonPhase.EXPLANATION].sections))
    assert "distribution circuit" not in text and "unfused spur" not in text


def test_a_scope_naming_no_concept_leaves_the_material_whole() -> None:
    scoped = outputs_for("ccna", "ospf", ("Only radial circuits",))[LessonPhase.PLANNING]
    assert scoped.constraints.specific_scope == ["radial circuits"]
    assert [s.concepts for s in scoped.sections] == [
        s.concepts for s in outputs_for("ccna", "ospf")[LessonPhase.PLANNING].sections
    ]
