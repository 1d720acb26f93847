"""Normalisation after assembly: mechanical fixes that change no teaching content.

On the lesson's JSON: block and question ids to the contract's patterns, block
orders to the contract ordering (blocks sorted by it), answer-type spellings to
the four valid types (``mcq`` -> ``multiple-choice``), true/false answers and
options in one spelling, a multiple-choice answer in its option's spelling,
strings trimmed and accepted answers de-duplicated. Unknown block types and
unparseable structures are left alone for the validators and the scorer to see.
"""

from __future__ import annotations

import copy
from typing import Any

from services.lessons.contract import BlockType, block_id, contract_order, question_id
from services.lessons.text import normalise

__all__ = ["ANSWER_TYPE_SPELLINGS", "normalise_lesson"]

ANSWER_TYPE_SPELLINGS = {
    "short-text": "short-text",
    "short_text": "short-text",
    "shorttext": "short-text",
    "short answer": "short-text",
    "short-answer": "short-text",
    "text": "short-text",
    "multiple-choice": "multiple-choice",
    "multiple_choice": "multiple-choice",
    "multiplechoice": "multiple-choice",
    "mcq": "multiple-choice",
    "calculation": "calculation",
    "numeric": "calculation",
    "number": "calculation",
    "true-false": "true-false",
    "true_false": "true-false",
    "truefalse": "true-false",
    "true/false": "true-false",
    "boolean": "true-false",
}
_QUESTION_BLOCKS = (
    BlockType.CHECK,
    BlockType.PRACTICE,
    BlockType.INTEGRATIVE,
    BlockType.SPACED_REVIEW,
)
_TF = {"true": "true", "t": "true", "yes": "true", "false": "false", "f": "false", "no": "false"}


def _trim(value: Any) -> Any:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, list):
        return [_trim(v) for v in value]
    if isinstance(value, dict):
        return {k: _trim(v) for k, v in value.items()}
    return value


def _question(q: dict[str, Any], qid: str) -> None:
    q["id"] = qid
    kind = q.get("answerType")
    if isinstance(kind, str):
        q["answerType"] = ANSWER_TYPE_SPELLINGS.get(normalise(kind), kind)
    answers = q.get("expectedAnswer")
    if isinstance(answers, str):
        answers = [answers]
    if isinstance(answers, list):
        seen: dict[str, Any] = {}
        for a in answers:
            if isinstance(a, str) and a and normalise(a) not in seen:
                seen[normalise(a)] = a
            elif not isinstance(a, str):
                seen[repr(a)] = a  # not ours to fix: the validators will say
        answers = list(seen.values())
        q["expectedAnswer"] = answers
    if q.get("answerType") == "true-false" and isinstance(answers, list):
        q["expectedAnswer"] = [
            _TF.get(normalise(a), a) if isinstance(a, str) else a for a in answers
        ]
        q["options"] = ["true", "false"]
    options = q.get("options")
    if q.get("answerType") == "multiple-choice" and isinstance(options, list) and answers:
        by_key = {normalise(o): o for o in options if isinstance(o, str)}
        first = answers[0]
        if isinstance(first, str) and first not in options and normalise(first) in by_key:
            q["expectedAnswer"] = [by_key[normalise(first)], *answers[1:]]


def normalise_lesson(data: dict[str, Any]) -> dict[str, Any]:
    """A normalised copy of a lesson's JSON (the input is not changed)."""
    lesson: dict[str, Any] = _trim(copy.deepcopy(data))
    lid = lesson.get("id")
    blocks = lesson.get("blocks")
    if not isinstance(lid, str) or not isinstance(blocks, list):
        return lesson
    seen: dict[str, int] = {}
    for block in blocks:
        if not isinstance(block, dict):
            continue
        try:
            kind = BlockType(str(block.get("type")))
        except ValueError:
            continue
        seen[kind] = n = seen.get(kind, 0) + 1
        try:
            block["order"] = contract_order(kind, n)
        except ValueError:
            continue  # a third explanation: the structure is wrong, not ours to guess
        block["id"] = block_id(lid, kind, n)
        content = block.get("content")
        questions = content.get("questions") if isinstance(content, dict) else None
        if kind in _QUESTION_BLOCKS and isinstance(questions, list):
            for k, q in enumerate(questions, start=1):
                if isinstance(q, dict):
                    _question(q, question_id(lid, kind, k, n))
    orderable = all(isinstance(b, dict) and isinstance(b.get("order"), int | float) for b in blocks)
    if orderable:
        blocks.sort(key=lambda b: b["order"])
    return lesson
