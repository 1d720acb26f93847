"""Rubric checks of form: schema compliance (15), marking (10), visual (5), safety (5)."""

from __future__ import annotations

import re

from events.lessons import ScoreCategory, ScoreDetail, SuggestedFix
from services.lessons.contract import (
    AnswerType,
    BlockType,
    Layout,
    Lesson,
    block_id,
    contract_order,
    diagram_reference,
    question_id,
)
from services.lessons.safety import SAFETY_NOTE, has_safety_note, safety_relevant
from services.lessons.scoring.walk import NUMBER, detail, explanations, numbered, questions, taught
from services.lessons.text import normalise, short_variants, word_count

__all__ = ["marking", "safety", "schema", "visual"]

C = ScoreCategory


# schema compliance -------------------------------------------------------------------------
def schema(lesson: Lesson) -> list[ScoreDetail]:
    out = []
    issues, fixes = [], []
    for i, b, n in numbered(lesson):
        want = block_id(lesson.id, b.type, n)
        if b.id != want:
            issues.append(f"blocks[{i}].id is {b.id!r}, not the pattern {want!r}")
            fixes.append(SuggestedFix(path=f"blocks[{i}].id", value=want))
    out.append(
        detail(
            C.SCHEMA_COMPLIANCE,
            "block ids follow <lessonId>-<block>",
            5,
            len(issues),
            issues,
            [f"Change {f.path} to {f.value!r}" for f in fixes],
            fixes,
        )
    )
    issues, fixes = [], []
    for path, b, n, q in questions(lesson):
        k = int(path.rsplit("[", 1)[1].rstrip("]")) + 1
        want = question_id(lesson.id, b.type, k, n)
        if q.id != want:
            issues.append(f"{path}.id is {q.id!r}, not {want!r}")
            fixes.append(SuggestedFix(path=f"{path}.id", value=want))
    out.append(
        detail(
            C.SCHEMA_COMPLIANCE,
            "question ids follow the contract",
            4,
            len(issues),
            issues,
            [f"Change {f.path} to {f.value!r}" for f in fixes],
            fixes,
        )
    )
    issues = []
    if not lesson.metadata.pack or not lesson.metadata.concepts:
        issues.append("metadata names no pack or no concepts")
    if normalise(lesson.title) == normalise(lesson.description):
        issues.append("description repeats the title")
    out.append(
        detail(
            C.SCHEMA_COMPLIANCE,
            "lesson metadata complete",
            2,
            len(issues),
            issues,
            ["Describe the lesson's aims in description" for _ in issues[:1]],
        )
    )
    issues = []
    for i, b, n in numbered(lesson):
        if b.order != contract_order(b.type, n):
            issues.append(
                f"blocks[{i}].order is {b.order}, the contract says {contract_order(b.type, n)}"
            )
    out.append(
        detail(
            C.SCHEMA_COMPLIANCE,
            "block orders follow the contract",
            4,
            len(issues),
            issues,
            ["Re-run normalisation: orders are fixed by block type"] if issues else [],
        )
    )
    return out


# marking, visual, safety --------------------------------------------------------------------
def marking(lesson: Lesson) -> list[ScoreDetail]:
    out = []
    issues, fixes = [], []
    for path, _, _, q in questions(lesson):
        mcq = q.answer_type is AnswerType.MULTIPLE_CHOICE
        if mcq and (not q.options or q.expected_answer[0] not in q.options):
            issues.append(f"{path}: the expected answer is not one of the options")
            if q.options:
                options = [*q.options[:-1], q.expected_answer[0]]
                fixes.append(SuggestedFix(path=f"{path}.options", value=options))
        if q.answer_type is AnswerType.TRUE_FALSE and q.expected_answer[0] not in ("true", "false"):
            issues.append(f"{path}: a true/false answer must be 'true' or 'false'")
    out.append(
        detail(
            C.MARKING_ROBUSTNESS,
            "answer types are consistent",
            4,
            len(issues),
            issues,
            [f"Change {f.path} to {f.value!r}" for f in fixes],
            fixes,
        )
    )
    issues, fixes = [], []
    for path, _, _, q in questions(lesson):
        if q.answer_type is not AnswerType.SHORT_TEXT:
            continue
        if word_count(q.expected_answer[0]) > 4 and len(q.expected_answer) < 2:
            issues.append(f"{path}.expectedAnswer is one rigid, sentence-length string")
            value = short_variants(q.expected_answer[0])
            if len(value) > 1:
                fixes.append(SuggestedFix(path=f"{path}.expectedAnswer", value=value))
    out.append(
        detail(
            C.MARKING_ROBUSTNESS,
            "long answers accept variations",
            4,
            0.5 * len(issues),
            issues,
            [f"Change {f.path} to {f.value!r}" for f in fixes],
            fixes,
        )
    )
    issues = []
    for path, _, _, q in questions(lesson):
        if q.answer_type is AnswerType.CALCULATION and not NUMBER.search(q.expected_answer[0]):
            issues.append(f"{path}: a calculation answer without a number")
    out.append(
        detail(
            C.MARKING_ROBUSTNESS,
            "calculation answers are numeric",
            2,
            len(issues),
            issues,
            [f"Give the computed value with its unit: {x}" for x in issues],
        )
    )
    return out


def visual(lesson: Lesson) -> list[ScoreDetail]:
    if lesson.layout is not Layout.SPLIT_VIS:
        return [detail(C.VISUAL, "visual aids fit the layout", 5, 0, [], [])]
    diagrams = lesson.of_type(BlockType.DIAGRAM)
    if not diagrams or len(diagrams[0].content.elements) < 2:
        return [
            detail(
                C.VISUAL,
                "split-vis lesson has a diagram",
                5,
                5,
                ["a split-vis lesson without a usable diagram"],
                ["Use linear-flow, or plan a diagram of at least two elements"],
            )
        ]
    expl = explanations(lesson)
    whole = "\n".join(t for _, t in expl)
    if re.search(r"\bdiagram\b|\bfigure\b", whole, re.I):
        return [detail(C.VISUAL, "the explanation refers to its diagram", 5, 0, [], [])]
    text = diagram_reference(list(diagrams[0].content.elements))
    fix = SuggestedFix(path=f"blocks[{expl[-1][0]}].content.content", op="append_text", value=text)
    return [
        detail(
            C.VISUAL,
            "the explanation refers to its diagram",
            5,
            2,
            ["the explanation never refers to the diagram"],
            [f"Append to {fix.path}: {text!r}"],
            [fix],
        )
    ]


def safety(lesson: Lesson) -> list[ScoreDetail]:
    expl = explanations(lesson)
    whole = "\n".join(t for _, t in expl)
    everything = taught(lesson) + "\n" + whole
    if not safety_relevant(everything) or has_safety_note(whole):
        return [detail(C.SAFETY, "safety considered", 5, 0, [], [])]
    fix = SuggestedFix(
        path=f"blocks[{expl[0][0]}].content.content", op="append_text", value=SAFETY_NOTE
    )
    return [
        detail(
            C.SAFETY,
            "electrical work needs a safety callout",
            5,
            5,
            ["an electrical installation lesson without any safety warning"],
            [f"Append to {fix.path}: {SAFETY_NOTE!r}"],
            [fix],
        )
    ]
